"""Regenerate the synthetic sample pages in this folder: synth_NN.jpg + synth_NN.gt.txt.

    python images/make_samples.py
"""
from pathlib import Path

from ocrkit.data.pages import write_page

HERE = Path(__file__).resolve().parent

SAMPLES = [
    ("SHOPPING LIST\n2 LOAVES OF BREAD\n6 EGGS\n1 JAR OF HONEY", 1, 48),
    ("THE QUICK BROWN FOX\nJUMPS OVER\nTHE LAZY DOG 1234567890", 2, 44),
    ("MEET ME AT 7\nPLATFORM 9\n\nBRING THE MAP", 3, 56),
]

if __name__ == "__main__":
    for i, (text, seed, height) in enumerate(SAMPLES, 1):
        image, gt = write_page(text, HERE / f"synth_{i:02d}.jpg", seed=seed, char_height=height)
        print(image.name, f"{image.stat().st_size // 1024} KB", gt.name)
