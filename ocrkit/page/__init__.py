"""The page pipeline, one module per stage in reading order:

    image.py     path or array -> upright grey page (EXIF, any depth, bounded size)
    clean.py     grey page -> ink map at working resolution (lighting, threshold)
    segment.py   ink map -> character boxes in lines and words
    read.py      crops -> one batch through the model -> look-alikes settled -> Page
    model.py     the page model every stage and format shares: Page -> Line -> Word -> Char

    from ocrkit.page import read_page
    page = read_page("photo.jpg", model)
"""
from ocrkit.page.image import load_image
from ocrkit.page.model import Char, Line, Page, ProcessingStep, Word
from ocrkit.page.read import read_page

__all__ = ["Char", "Line", "Page", "ProcessingStep", "Word", "load_image", "read_page"]
