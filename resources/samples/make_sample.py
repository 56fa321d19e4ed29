"""Make resources/samples/noisy-scene.png: a small synthetic scene with Gaussian noise.

Run once (``python resources/samples/make_sample.py``); the PNG is committed.
Everything is drawn procedurally (no photographs), seed fixed.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZE = 256
SIGMA = 0.07


def scene(size: int = SIZE) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    img = np.zeros((size, size, 3), np.float32)
    # sky: blue at the top to warm haze at the horizon
    top, horizon = np.array([0.20, 0.42, 0.78]), np.array([0.98, 0.78, 0.55])
    t = np.clip(y / 0.62, 0, 1)[..., None]
    img[:] = top * (1 - t) + horizon * t
    # sun with a soft glow
    d = np.hypot(x - 0.72, y - 0.34)
    img += (np.exp(-(d / 0.09) ** 2) * 0.6)[..., None] * np.array([1.0, 0.85, 0.55])
    img[d < 0.055] = (1.0, 0.93, 0.70)
    # two ranges of hills
    far = 0.60 + 0.05 * np.sin(x * 9.0 + 1.0) + 0.02 * np.sin(x * 23.0)
    near = 0.72 + 0.06 * np.sin(x * 5.0 + 2.5) + 0.015 * np.sin(x * 31.0)
    img[y > far] = (0.36, 0.47, 0.52)
    mask = y > near
    shade = (0.18 + 0.25 * (1 - (y - near).clip(0, 1) * 2))[..., None]
    img[mask] = (np.array([0.25, 0.55, 0.22]) * (0.6 + shade))[mask]
    # a small house with a striped roof and lit windows (fine detail to keep)
    u8 = np.clip(img * 255, 0, 255).astype(np.uint8)
    s = size / 256
    p = lambda *v: tuple(int(round(a * s)) for a in v)  # noqa: E731
    cv2.rectangle(u8, p(40, 176), p(104, 226), (236, 226, 206), -1)
    roof = np.array([p(32, 178), p(72, 146), p(112, 178)], np.int32)
    cv2.fillPoly(u8, [roof], (150, 52, 42))
    for k in range(6):
        cv2.line(u8, p(38 + 12 * k, 176), p(70, 148), (110, 36, 30), 1, cv2.LINE_AA)
    for wx in (50, 84):
        cv2.rectangle(u8, p(wx, 188), p(wx + 12, 200), (255, 214, 92), -1)
        cv2.rectangle(u8, p(wx, 188), p(wx + 12, 200), (70, 60, 52), 1)
    cv2.rectangle(u8, p(68, 200), p(80, 226), (96, 64, 44), -1)
    # a fence: thin vertical strokes
    for fx in range(124, 236, 7):
        cv2.line(u8, p(fx, 214), p(fx, 236), (244, 240, 230), 1)
    cv2.line(u8, p(120, 220), p(236, 220), (244, 240, 230), 1)
    cv2.putText(u8, "RestoreLab", p(126, 250), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * s,
                (255, 255, 255), 1, cv2.LINE_AA)
    return u8.astype(np.float32) / 255.0


def main() -> None:
    rng = np.random.default_rng(7)
    clean = scene()
    noisy = np.clip(clean + rng.normal(0, SIGMA, clean.shape).astype(np.float32), 0, 1)
    out = Path(__file__).with_name("noisy-scene.png")
    bgr = np.rint(noisy[..., ::-1] * 255).astype(np.uint8)
    cv2.imwrite(str(out), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(out, out.stat().st_size)


if __name__ == "__main__":
    main()
