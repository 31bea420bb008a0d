"""Every output format, on the shared real photos and on pages made here: ALTO and PAGE
against their schemas (lxml), the PDF through poppler's pdftotext, TSV and hOCR beside
Tesseract's own output of the same image."""
from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import data_file, schema_file
from ocrkit import Reader
from ocrkit.cli import main
from ocrkit.errors import OcrkitError
from ocrkit.formats import FORMATS
from ocrkit.page.model import Char, Line, Page, ProcessingStep, Word

PHOTOS = ["01_list", "02_letters"]
ALTO_NS = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
PAGE_NS = {"p": "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"}
XHTML_NS = {"h": "http://www.w3.org/1999/xhtml"}


@pytest.fixture(scope="module")
def reader():
    return Reader()


@pytest.fixture(scope="module")
def photos(reader):
    """{name: (path, Page)} of the shared real photos (skipped when the data is absent)."""
    out = {}
    for name in PHOTOS:
        path = data_file(f"images/{name}.jpg")
        out[name] = (path, reader.read(path))
    return out


def made_page() -> Page:
    """A page built by hand: a baseline on one line only, characters that need escaping
    (< and &), a look-alike settled against its model's first choice (O over 0), steps."""
    line1 = Line([Word([Char("T", (10, 20, 40, 60), 0.9, [("T", 0.9), ("7", 0.06), ("Y", 0.04)]),
                        Char("O", (45, 22, 75, 60), 0.35, [("0", 0.6), ("O", 0.35), ("Q", 0.05)])]),
                  Word([Char("<", (120, 25, 140, 58), 0.7, [("<", 0.7), ("&", 0.2), ("K", 0.1)]),
                        Char("&", (145, 20, 175, 61), 0.99, [("&", 0.99)])])],
                 baseline=((10, 60), (175, 62)))
    line2 = Line([Word([Char("2", (12, 100, 40, 140), 0.8, [("2", 0.8), ("Z", 0.2)])])])
    steps = [ProcessingStep("clean", "preprocessing", "lighting flattened", {"closing": 15}),
             ProcessingStep("read", "processing", "one batch through the model",
                            {"model": "default.pkl", "context": True})]
    return Page("made/page.png", (200, 160), [line1, line2], steps)


def made_image() -> np.ndarray:
    return np.full((160, 200), 0.9, np.float32)


# -- the registry ------------------------------------------------------------------------------
def test_every_format_writes_its_kind_and_the_cli_offers_them_all():
    page = made_page()
    for f in FORMATS.values():
        out = f.write([page], images=[made_image()])
        assert isinstance(out, bytes if f.binary else str) and out, f.name
    assert len({f.extension for f in FORMATS.values()}) == len(FORMATS)
    help_text = CliRunner().invoke(main, ["ocr", "--help"]).output
    assert all(name in help_text for name in FORMATS)


def test_text_and_json():
    page = made_page()
    assert FORMATS["text"].write([page]) == "TO <&\n2\n"
    two = FORMATS["text"].write([page, page])
    assert two == "==> made/page.png <==\nTO <&\n2\n==> made/page.png <==\nTO <&\n2\n"
    (d,) = json.loads(FORMATS["json"].write([page]))
    assert d["text"] == "TO <&\n2" and d["lines"][0]["baseline"] == [[10, 60], [175, 62]]
    assert "baseline" not in d["lines"][1]
    assert [s["id"] for s in d["steps"]] == ["clean", "read"]
    assert d["steps"][1]["settings"] == {"model": "default.pkl", "context": True}


# -- TSV -----------------------------------------------------------------------------------------
def parse_tsv(text: str) -> list[dict]:
    """Rows as Tesseract TSV readers take them (pytesseract, pandas: tab-separated, no
    quoting, one header)."""
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows and all(None not in r and len(r) == 12 for r in rows)   # 12 fields each
    return rows


def check_tesseract_conventions(rows) -> None:
    """Tesseract's own rules (baseapi.cpp GetTSVText), which any of its TSVs obeys."""
    nums = ["page_num", "block_num", "par_num", "line_num", "word_num"]
    last = {}
    for r in rows:
        level = int(r["level"])
        values = [int(r[k]) for k in nums]
        assert all(v > 0 for v in values[:level]) and all(v == 0 for v in values[level:])
        for k in range(1, level - 1):                  # parents: those of the row before
            assert values[k] == last[level - 1][k]
        last[level] = values
        if level < 5:
            assert r["conf"] == "-1" and r["text"] == ""
        else:
            assert re.fullmatch(r"\d+\.\d{6}", r["conf"]) and 0 <= float(r["conf"]) <= 100
        assert int(r["width"]) >= 0 and int(r["height"]) >= 0


@pytest.fixture(scope="module")
def tesseract_outputs(tmp_path_factory, photos):
    """Tesseract's TSV and hOCR (with character boxes) of 02_letters, or skip."""
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed")
    out = tmp_path_factory.mktemp("tesseract") / "t"
    path = photos["02_letters"][0]
    subprocess.run(["tesseract", str(path), str(out), "-c", "hocr_char_boxes=1", "tsv", "hocr"],
                   check=True, capture_output=True, timeout=120)
    return (out.with_suffix(".tsv").read_text(encoding="utf-8"),
            out.with_suffix(".hocr").read_text(encoding="utf-8"))


def test_tsv_has_tesseracts_columns_levels_and_numbering(photos, tesseract_outputs):
    tess_tsv, _ = tesseract_outputs
    ours_text = FORMATS["tsv"].write([p for _, p in photos.values()])
    assert ours_text.splitlines()[0] == tess_tsv.splitlines()[0]      # the same header
    ours, theirs = parse_tsv(ours_text), parse_tsv(tess_tsv)
    check_tesseract_conventions(theirs)
    check_tesseract_conventions(ours)
    assert {r["level"] for r in ours} == {r["level"] for r in theirs} == set("12345")
    for n, (_, page) in enumerate(photos.values(), 1):
        mine = [r for r in ours if r["page_num"] == str(n)]
        assert (mine[0]["level"], mine[0]["width"], mine[0]["height"]) == \
            ("1", str(page.size[0]), str(page.size[1]))
        words = [r for r in mine if r["level"] == "5"]
        assert [r["text"] for r in words] == [w.text for w in page.words]
        assert [(int(r["left"]), int(r["top"]), int(r["left"]) + int(r["width"]),
                 int(r["top"]) + int(r["height"])) for r in words] == [w.box for w in page.words]
        assert [float(r["conf"]) for r in words] == \
            pytest.approx([100 * w.confidence for w in page.words], abs=1e-6)
        assert len([r for r in mine if r["level"] == "4"]) == len(page.lines)


def test_tsv_of_a_made_page_row_by_row():
    rows = FORMATS["tsv"].write([made_page()]).splitlines()[1:]
    assert rows == [
        "1\t1\t0\t0\t0\t0\t0\t0\t200\t160\t-1\t",
        "2\t1\t1\t0\t0\t0\t10\t20\t165\t120\t-1\t",
        "3\t1\t1\t1\t0\t0\t10\t20\t165\t120\t-1\t",
        "4\t1\t1\t1\t1\t0\t10\t20\t165\t41\t-1\t",
        "5\t1\t1\t1\t1\t1\t10\t20\t65\t40\t35.000000\tTO",
        "5\t1\t1\t1\t1\t2\t120\t20\t55\t41\t70.000000\t<&",
        "4\t1\t1\t1\t2\t0\t12\t100\t28\t40\t-1\t",
        "5\t1\t1\t1\t2\t1\t12\t100\t28\t40\t80.000000\t2",
    ]


# -- hOCR ----------------------------------------------------------------------------------------
def hocr_words(text: str) -> list[tuple[str, tuple, list]]:
    """(word text, bbox, [(char, x_bboxes, x_conf)]) of every ocrx_word, as an hOCR reader
    takes them: the text of the word's spans, properties from title attributes."""
    root = ET.fromstring(text)

    def prop(node, name):
        for part in node.get("title").split(";"):
            key, _, value = part.strip().partition(" ")
            if key == name:
                return value
        return None

    out = []
    for word in root.iterfind(".//h:span[@class='ocrx_word']", XHTML_NS):
        chars = [(c.text, tuple(map(int, prop(c, "x_bboxes").split())), float(prop(c, "x_conf")))
                 for c in word.iterfind("h:span[@class='ocrx_cinfo']", XHTML_NS)]
        out.append(("".join(word.itertext()).strip().replace("\n", "").replace(" ", ""),
                    tuple(map(int, prop(word, "bbox").split())), chars))
    return out


def test_hocr_nests_as_tesseract_with_char_boxes_and_confidences(photos, tesseract_outputs):
    _, tess_hocr = tesseract_outputs
    assert all(len(chars) == len(text) for text, _, chars in hocr_words(tess_hocr))
    for _, page in photos.values():
        doc = FORMATS["hocr"].write([page])
        root = ET.fromstring(doc)
        for outer, inner in [("div", "ocr_page"), ("div", "ocr_carea"), ("p", "ocr_par"),
                             ("span", "ocr_line"), ("span", "ocrx_word"),
                             ("span", "ocrx_cinfo")]:
            assert root.findall(f".//h:{outer}[@class='{inner}']", XHTML_NS), inner
        words = hocr_words(doc)
        assert [t for t, _, _ in words] == [w.text for w in page.words]
        assert [b for _, b, _ in words] == [w.box for w in page.words]
        for (_, _, chars), w in zip(words, page.words):
            assert [(t, b) for t, b, _ in chars] == [(c.label, c.box) for c in w.chars]
            assert [c for _, _, c in chars] == \
                pytest.approx([100 * c.confidence for c in w.chars], abs=0.006)
        wconf = [int(m) for m in re.findall(r"x_wconf (\d+)", doc)]
        assert wconf == [int(100 * w.confidence) for w in page.words]


def test_hocr_escapes_and_gives_the_baseline_where_known():
    doc = FORMATS["hocr"].write([made_page()])
    assert [t for t, _, _ in hocr_words(doc)] == ["TO", "<&", "2"]
    lines = re.findall(r'class="ocr_line"[^>]*title="([^"]*)"', doc)
    assert lines[0] == "bbox 10 20 175 61; baseline 0.012 -1"   # y = 0.012 x - 1 from (10, 61)
    assert lines[1] == "bbox 12 100 40 140"
    assert "<title></title>" in doc                 # never self-closed: browsers read it as HTML


# -- ALTO ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def alto_schema():
    from lxml import etree
    return etree.XMLSchema(etree.parse(str(schema_file("alto-4-4.xsd"))))


@pytest.fixture(scope="module")
def page_schema():
    from lxml import etree
    return etree.XMLSchema(etree.parse(str(schema_file("pagecontent-2019-07-15.xsd"))))


def valid(schema, text: str):
    from lxml import etree
    doc = etree.fromstring(text.encode("utf-8"))
    schema.assertValid(doc)
    return doc


def test_alto_of_the_real_photos_validates_and_holds_every_glyph(photos, alto_schema):
    pages = [p for _, p in photos.values()]
    for doc in [valid(alto_schema, FORMATS["alto"].write([p])) for p in pages] + \
            [valid(alto_schema, FORMATS["alto"].write(pages))]:
        for s in doc.iterfind(".//a:String", ALTO_NS):
            assert "".join(g.get("CONTENT") for g in s.findall("a:Glyph", ALTO_NS)) == \
                s.get("CONTENT")
    doc = valid(alto_schema, FORMATS["alto"].write(pages))
    assert len(doc.findall(".//a:Page", ALTO_NS)) == 2
    assert [f.text for f in doc.findall(".//a:fileIdentifier", ALTO_NS)] == \
        [p.path for p in pages]
    strings = doc.findall(".//a:String", ALTO_NS)
    assert [s.get("CONTENT") for s in strings] == [w.text for p in pages for w in p.words]
    assert [float(s.get("WC")) for s in strings] == \
        pytest.approx([w.confidence for p in pages for w in p.words], abs=5e-5)


def test_alto_of_a_made_page(alto_schema):
    doc = valid(alto_schema, FORMATS["alto"].write([made_page()]))
    assert doc.find(".//a:fileName", ALTO_NS).text == "made/page.png"
    procs = doc.findall(".//a:Processing", ALTO_NS)
    assert [p.find("a:processingCategory", ALTO_NS).text for p in procs] == \
        ["preOperation", "contentGeneration"]
    assert json.loads(procs[1].find("a:processingStepSettings", ALTO_NS).text) == \
        {"context": True, "model": "default.pkl"}
    assert doc.find(".//a:Page", ALTO_NS).get("PROCESSINGREFS") == " ".join(
        p.get("ID") for p in procs)
    lines = doc.findall(".//a:TextLine", ALTO_NS)
    assert lines[0].get("BASELINE") == "10,60 175,62" and lines[1].get("BASELINE") is None
    s = doc.find(".//a:String", ALTO_NS)
    assert (s.get("CONTENT"), s.get("HPOS"), s.get("VPOS"), s.get("WIDTH"), s.get("HEIGHT"),
            s.get("WC"), s.get("CC")) == ("TO", "10", "20", "65", "40", "0.3500", "1 6")
    o = s.findall("a:Glyph", ALTO_NS)[1]
    assert (o.get("CONTENT"), o.get("GC")) == ("O", "0.3500")
    assert [(v.get("CONTENT"), v.get("VC")) for v in o.findall("a:Variant", ALTO_NS)] == \
        [("0", "0.6000"), ("Q", "0.0500")]
    assert [sp.get("WIDTH") for sp in doc.findall(".//a:SP", ALTO_NS)] == ["45"]
    assert doc.findall(".//a:String", ALTO_NS)[1].get("CONTENT") == "<&"


# -- PAGE XML ------------------------------------------------------------------------------------
def test_page_xml_of_the_real_photos_validates(photos, page_schema):
    for path, page in photos.values():
        doc = valid(page_schema, FORMATS["page"].write([page]))
        assert doc.find("p:Page", PAGE_NS).get("imageFilename") == str(path)
        words = doc.findall(".//p:Word", PAGE_NS)
        assert [w.find("p:TextEquiv/p:Unicode", PAGE_NS).text for w in words] == \
            [w.text for w in page.words]
        glyphs = doc.findall(".//p:Glyph", PAGE_NS)
        assert [g.find("p:TextEquiv[@index='1']/p:Unicode", PAGE_NS).text for g in glyphs] == \
            [c.label for c in page.chars]
        lines = doc.findall(".//p:TextLine", PAGE_NS)
        assert [line.find("p:TextEquiv/p:Unicode", PAGE_NS).text for line in lines] == \
            page.text.splitlines()


def test_page_xml_of_a_made_page(page_schema):
    doc = valid(page_schema, FORMATS["page"].write([made_page()]))
    items = doc.findall(".//p:MetadataItem", PAGE_NS)
    assert [(i.get("type"), i.get("name"), i.get("value")) for i in items] == [
        ("processingStep", "clean", "lighting flattened"),
        ("processingStep", "read", "one batch through the model")]
    assert [(la.get("type"), la.get("value")) for la in items[1].iter(f"{{{PAGE_NS['p']}}}Label")] \
        == [("context", "True"), ("model", "default.pkl")]
    lines = doc.findall(".//p:TextLine", PAGE_NS)
    assert lines[0].find("p:Baseline", PAGE_NS).get("points") == "10,60 175,62"
    assert lines[1].find("p:Baseline", PAGE_NS) is None
    assert lines[0].find("p:Coords", PAGE_NS).get("points") == "10,20 175,20 175,61 10,61"
    o = doc.findall(".//p:Glyph", PAGE_NS)[1]
    assert [(t.get("index"), t.get("conf"), t.find("p:Unicode", PAGE_NS).text)
            for t in o.findall("p:TextEquiv", PAGE_NS)] == \
        [("1", "0.3500", "O"), ("2", "0.6000", "0"), ("3", "0.0500", "Q")]
    assert doc.findall(".//p:Word", PAGE_NS)[1].find("p:TextEquiv/p:Unicode", PAGE_NS).text \
        == "<&"
    with pytest.raises(OcrkitError, match="one page"):
        FORMATS["page"].write([made_page(), made_page()])


# -- the searchable PDF --------------------------------------------------------------------------
def pdf_words(pdf: bytes, tmp_path):
    """[(page width, height in pt, [(word, (x0, y0, x1, y1) in pt)])] as poppler reads the
    PDF in its content order (`pdftotext -raw -bbox`), and its plain text (`-raw`)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    run = lambda *a: subprocess.run(["pdftotext", *a, str(path), "-"], check=True,  # noqa: E731
                                    capture_output=True, text=True, timeout=60).stdout
    pages = []
    for head, body in re.findall(r'<page (width="[\d.]+" height="[\d.]+")>(.*?)</page>',
                                 run("-raw", "-bbox"), re.S):
        w, h = map(float, re.findall(r'[\d.]+', head))
        words = [(html.unescape(t), tuple(map(float, b)))
                 for *b, t in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" '
                                         r'xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', body)]
        pages.append((w, h, words))
    return pages, run("-raw")


def check_pdf_page(pdf_page, page, tolerance=2.0):
    """Every word in order, its box within `tolerance` image pixels of ocrkit's."""
    width, height, words = pdf_page
    px = page.size[0] / width                               # image pixels per point
    assert height * px == pytest.approx(page.size[1], abs=0.5)
    assert [t for t, _ in words] == [w.text for w in page.words]
    for (_, box), w in zip(words, page.words):
        assert np.abs(np.array(box) * px - w.box).max() <= tolerance, (w.text, box, w.box)


def test_pdf_of_the_real_photos_holds_their_text_on_each_word(photos, tmp_path):
    pages = [p for _, p in photos.values()]
    pdf = FORMATS["pdf"].write(pages, images=[str(path) for path, _ in photos.values()])
    read, text = pdf_words(pdf, tmp_path)
    assert len(read) == 2
    for pdf_page, page in zip(read, pages):
        check_pdf_page(pdf_page, page)
    assert text.replace("\f", "").split("\n") == "\n".join(p.text for p in pages).split("\n") + [""]
    jpeg = photos["01_list"][0].read_bytes()
    single = FORMATS["pdf"].write(pages[:1], images=[photos["01_list"][0]])
    assert jpeg in single                                    # the photo as it is, not re-encoded


def test_pdf_from_an_array_and_of_a_made_page(tmp_path):
    page = made_page()
    pdf = FORMATS["pdf"].write([page], images=[made_image()])
    (pdf_page,), text = pdf_words(pdf, tmp_path)
    check_pdf_page(pdf_page, page)
    assert text.strip("\f\n") == "TO <&\n2"
    with pytest.raises(OcrkitError, match="image"):
        FORMATS["pdf"].write([page])


def test_pdf_of_a_turned_phone_photo(reader, tmp_path):
    """EXIF orientation 6 (a phone held upright): boxes are in the upright image, so the PDF
    page and its image are upright too."""
    from ocrkit.data.pages import write_page
    upright, _ = write_page("HELLO\nWORLD 42", tmp_path / "upright.png", seed=3)
    sideways = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6                                        # "rotate 90 clockwise to view"
    Image.open(upright).convert("L").transpose(Image.Transpose.ROTATE_90).save(
        sideways, "JPEG", quality=95, exif=exif)
    page = reader.read(sideways)
    assert page.size == Image.open(upright).size and page.text == "HELLO\nWORLD 42"
    pdf = FORMATS["pdf"].write([page], images=[sideways])
    (pdf_page,), _ = pdf_words(pdf, tmp_path)
    check_pdf_page(pdf_page, page)
    images = subprocess.run(["pdfimages", "-list", "-", ], input=pdf, capture_output=True,
                            check=True).stdout.decode().splitlines()[2].split()
    assert (int(images[3]), int(images[4])) == page.size      # embedded upright


# -- through the command line --------------------------------------------------------------------
def test_cli_writes_each_format_and_refuses_two_pages_of_page_xml(photos, tmp_path,
                                                                 alto_schema):
    path, page = photos["02_letters"]
    runner = CliRunner()
    alto = runner.invoke(main, ["ocr", str(path), "--format", "alto"])
    assert alto.exit_code == 0 and valid(alto_schema, alto.output) is not None
    pdf = runner.invoke(main, ["ocr", str(path), "--format", "pdf"])
    assert pdf.exit_code == 0 and pdf.stdout_bytes.startswith(b"%PDF")
    (pdf_page,), _ = pdf_words(pdf.stdout_bytes, tmp_path)
    check_pdf_page(pdf_page, page)
    two = runner.invoke(main, ["ocr", str(path), str(path), "--format", "page"])
    assert two.exit_code == 2 and "one page" in two.output


def test_a_blank_page_in_every_format(alto_schema, page_schema, tmp_path):
    """No text found: still a valid document in every format (the page, its size)."""
    blank = Page("blank.png", (120, 90))
    valid(alto_schema, FORMATS["alto"].write([blank]))
    valid(page_schema, FORMATS["page"].write([blank]))
    assert FORMATS["text"].write([blank]) == ""
    assert FORMATS["tsv"].write([blank]).splitlines()[1:] == ["1\t1\t0\t0\t0\t0\t0\t0\t120\t90\t-1\t"]
    assert hocr_words(FORMATS["hocr"].write([blank])) == []
    (pdf_page,), text = pdf_words(FORMATS["pdf"].write([blank], images=[np.zeros((90, 120))]),
                                  tmp_path)
    assert pdf_page[2] == [] and text.strip("\f\n") == ""


def test_cli_keeps_a_binary_format_off_a_terminal(tmp_path):
    import os
    import pty
    import sys
    main_fd, terminal = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "ocrkit", "ocr", "page.jpg",
                                 "--format", "pdf"], stdout=terminal, stderr=subprocess.PIPE,
                                cwd=tmp_path, timeout=60)
    finally:
        os.close(terminal)
        os.close(main_fd)
    assert result.returncode == 2
    assert "redirect stdout to a file (> page.pdf)" in result.stderr.decode()
