"""Read and write images as HWC float32 arrays, keeping their metadata.

The public face of the image code; the work is done in
  engine.imagebase   ImageInfo / LoadedImage, formats by suffix, pixel helpers
  engine.imageread   read_image: Pillow, OpenCV (16-bit PNG), tifffile, HEIF/AVIF, RAW
  engine.imagewrite  write_image: the same formats, atomically (RAW is read-only)
  engine.imagetiff   TIFF through tifffile: 8/16-bit integer, 16/32-bit float
  engine.imageextra  HEIF/HEIC, AVIF (pillow-heif) and camera RAW (rawpy), imported lazily

Integer files are read as float32 in [0, 1]; float TIFFs keep their values as
stored (``info.sample == "float"``) and are written back as float TIFF.
Channel layouts: 1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGBA.
"""
from __future__ import annotations

from engine.imagebase import (DEFAULT_MAX_PIXELS, DEFAULT_QUALITY, SUPPORTED_SUFFIXES,
                              WRITABLE_SUFFIXES, ImageInfo, LoadedImage, is_image_path,
                              join_alpha, output_suffix, quantize, split_alpha, stored_depth,
                              stored_dtype, to_uint8)
from engine.imageread import read_image, webp_is_lossless
from engine.imagewrite import write_image

__all__ = ["DEFAULT_MAX_PIXELS", "DEFAULT_QUALITY", "SUPPORTED_SUFFIXES", "WRITABLE_SUFFIXES",
           "ImageInfo", "LoadedImage", "is_image_path", "join_alpha", "output_suffix", "quantize",
           "read_image", "split_alpha", "stored_depth", "stored_dtype", "to_uint8",
           "webp_is_lossless", "write_image"]
