"""Registry entries for every network architecture, kept free of torch imports.

Listing the registry (``restorelab models archs``, the model picker) must not pay
for importing torch; building an entry imports its module only then. Each
family module re-exports its own list as ``SPECS``.
"""
from __future__ import annotations

from ..registry import ArchSpec

ALL_PRECISIONS = ("fp32", "bf16", "fp16")
FFT_ONLY = ("fp32",)  # FFT layers run in float32 (complex half is poorly supported)


def _spec(id, family, title, tasks, builder, defaults, description, **extra) -> ArchSpec:
    extra.setdefault("in_channels", int(defaults.get("in_channels", 3)))
    extra.setdefault("out_channels", int(defaults.get("out_channels", 3)))
    return ArchSpec(id=id, family=family, title=title, tasks=tuple(tasks),
                    builder=f"engine.archs.{builder}", defaults=defaults,
                    scale=int(defaults.get("scale", 1)), description=description, **extra)


DECONV = [
    _spec("deconv2d", "deconv", "Learned FFT deconvolution", ["deblur"], "deconv:DeconvNet",
          dict(in_channels=3, out_channels=3, kernel_size=(4, 4), mode="shared", four_factor=True,
               pad_factor=2, learn_scale=False, eps=1e-8, layer="deconv"),
          "Learns a small monic blur kernel and divides by its (4-factor) frequency response "
          "(layer='conv': the plain convolution it is compared with).",
          precisions=FFT_ONLY),
    _spec("srcnn", "sr", "SRCNN 9-5-5", ["super-resolution"], "deconv:SRCNN",
          dict(in_channels=3, out_channels=3, scale=2, first_layer="conv", n1=64, n2=32,
               deconv_kernel=(4, 4)),
          "Three-layer SR net on a bicubic-upscaled input; first layer conv or learned deconv.",
          precisions=ALL_PRECISIONS),
    _spec("espcn", "sr", "ESPCN", ["super-resolution"], "deconv:ESPCN",
          dict(in_channels=3, out_channels=3, scale=2, first_layer="conv", n1=64, n2=32,
               deconv_kernel=(4, 4)),
          "Efficient sub-pixel CNN: low-resolution convs, then pixel shuffle to x2/x3/x4.",
          precisions=ALL_PRECISIONS),
]

AUTOENCODERS = [
    _spec("conv-ae", "autoencoder", "Conv autoencoder (Sobel)", ["filter"], "autoencoders:ConvAE",
          dict(in_channels=3, out_channels=1, width=16),
          "Two unpadded convs and two transposed convs (BN + ReLU): learns image filters."),
    _spec("dae", "autoencoder", "Denoising autoencoder (100px)", ["denoise", "autoencode"],
          "autoencoders:DAE", dict(in_channels=3, out_channels=3, size=100),
          "Strided conv encoder to a 1x1x32 latent and a mirrored transposed-conv decoder."),
    _spec("dae-groupnorm", "autoencoder", "Autoencoder, GroupNorm + resize", ["denoise", "autoencode"],
          "autoencoders:DAEGroupNorm",
          dict(in_channels=3, out_channels=3, size=100, resize_mode="nearest",
               out_activation="tanh"),
          "3x3 convs, GroupNorm and Mish with resizing to a 1x1 latent and back (research variant)."),
]

UNET = [
    _spec("unet", "unet", "U-Net (pix2pix generator)", ["filter", "denoise", "deblur"],
          "unet:UNet",
          dict(in_channels=3, out_channels=3, depth=7, base=64, max_width=512, dropout=0.4,
               dropout_blocks=2, out_activation="sigmoid"),
          "pix2pix encoder-decoder with skip connections; input padded to a multiple of 2**depth.",
          size_multiple=128),
]

DISCRIMINATORS = [
    _spec("patchgan", "discriminator", "PatchGAN discriminator", ["discriminate"],
          "discriminators:PatchGAN",
          dict(in_channels=6, base=64, n_layers=3),
          "Conditional patch discriminator on concat(input, output-or-target).",
          out_channels=1, kind="discriminator", tiles=False),
    _spec("convdisc", "discriminator", "Plain conv discriminator", ["discriminate"],
          "discriminators:ConvDisc",
          dict(in_channels=4, base=32, n_layers=4),
          "Strided conv stack and global average: one score per (input, target) pair.",
          out_channels=1, kind="discriminator", tiles=False),
    _spec("sr-disc-simple", "discriminator", "SR discriminator (simple)", ["discriminate"],
          "discriminators:SRDiscSimple", dict(in_channels=6, base=64),
          "Four stride-2 convs on SR-or-HR concatenated with the bicubic-upscaled LR.",
          out_channels=1, kind="discriminator", tiles=False),
    _spec("sr-disc-rev", "discriminator", "SR discriminator (rev, BN)", ["discriminate"],
          "discriminators:SRDiscRev", dict(in_channels=6, base=64, norm=True),
          "Six convs, strides 2,2,1,1,2,2, BatchNorm; conditional on the bicubic-upscaled LR.",
          out_channels=1, kind="discriminator", tiles=False),
]

DILATED = [
    _spec("dilated-fcn", "dense", "Dilated FCN (mask + depth)", ["dense"], "dilated:DilatedFCN",
          dict(in_channels=3, out_channels=2, width=64, dilations=(2, 3, 4), residual=True,
               upsample="pixelshuffle", up_kernel=4),
          "Half-resolution dilated bottleneck blocks, x2 upsampling, sigmoid dense maps.",
          size_multiple=2),
    _spec("unet-ps", "dense", "U-Net with pixel shuffle", ["dense"], "dilated:UNetPS",
          dict(in_channels=3, out_channels=2, base=32, depth=3, max_width=256),
          "Encoder-decoder with skips and pixel-shuffle upsampling, sigmoid dense maps.",
          size_multiple=8),
]

SRRESNET = [
    _spec("srresnet18", "sr", "SR-ResNet18", ["super-resolution"], "srresnet:SRResNet18",
          dict(in_channels=3, out_channels=3, scale=2, widths=(64, 128, 256, 512),
               blocks=(2, 2, 2, 2)),
          "ResNet18 BasicBlocks at full resolution (stride 1) and a transposed-conv x2/x4 head."),
]

RDN = [
    _spec("rdn", "sr", "Residual dense network", ["super-resolution"], "rdn:RDN",
          dict(in_channels=3, out_channels=3, scale=2, G0=64, G=64, D=16, C=8,
               antialias="none", global_skip="none"),
          "Residual dense blocks with global feature fusion; pixel-shuffle upsampling (+ blur)."),
]

DNCNN = [
    _spec("dncnn", "denoise", "DnCNN", ["denoise"], "dncnn:DnCNN",
          dict(in_channels=3, out_channels=3, depth=17, width=64, batchnorm=True),
          "Plain conv + BN denoiser with residual learning (predicts the noise)."),
]

FSRCNN = [
    _spec("fsrcnn", "sr", "FSRCNN", ["super-resolution"], "fsrcnn:FSRCNN",
          dict(in_channels=3, out_channels=3, scale=2, d=56, s=12, m=4),
          "Fast SR: shrink, map and expand at low resolution, then a 9x9 transposed conv."),
]

NAFNET = [
    _spec("nafnet", "restore", "NAFNet (small)", ["denoise", "deblur"], "nafnet:NAFNet",
          dict(in_channels=3, out_channels=3, width=16, enc_blocks=(1, 1, 1), middle_blocks=1,
               dec_blocks=(1, 1, 1)),
          "Activation-free U-shaped restorer: LayerNorm, SimpleGate, channel attention.",
          size_multiple=8),
]

RESUNET = [
    _spec("resunet", "restore", "Residual U-Net (DRUNet-style)", ["denoise", "deblur"],
          "resunet:ResUNet",
          dict(in_channels=3, out_channels=3, widths=(32, 64, 128), blocks=2, level="none",
               nsr=0.01),
          "Residual blocks at full, 1/2 and 1/4 resolution with skips; optional level map "
          "(noise sigma, or blur sigma with a Wiener prior) as the last input channel.",
          size_multiple=4),
]

FFDNET = [
    _spec("ffdnet", "denoise", "FFDNet-style (quarter resolution)", ["denoise"], "ffdnet:FFDNet",
          dict(in_channels=3, out_channels=3, depth=12, width=96, level="none"),
          "Pixel-unshuffle by 2, a plain conv stack at quarter resolution (optional noise map), "
          "pixel shuffle back; residual on the input.",
          size_multiple=2),
]

ARCH_SPECS = [*DECONV, *AUTOENCODERS, *UNET, *DISCRIMINATORS, *DILATED, *SRRESNET, *RDN,
              *DNCNN, *FSRCNN, *NAFNET, *RESUNET,
              *FFDNET]
