"""Certificates and handouts: fonts embedded, text extractable, layout inside margins.

Text is read back with pypdf when it is installed, else with poppler's pdftotext;
rendering to PNG needs poppler's pdftoppm and decoding the QR code needs zbarimg
(Debian: poppler-utils, zbar-tools). A test that needs a missing tool is skipped.
"""

from __future__ import annotations

import datetime
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import segno

from propoor.training import pdf as pdfmod
from propoor.training.pdf import (
    CertificateDoc,
    HandoutDoc,
    HandoutLesson,
    certificate_pdf,
    handout_pdf,
    layout,
    qr_modules,
)

URL = "https://propoor.example.cn/verify/PP-7K3M-Q9XD-2WRT"
PARAGRAPH = (
    "在农村电商中，产品的质量和诚信是长期经营的根本。"
    "买家看不到实物，只能相信照片和文字，所以描述一定要真实，"
    "不能夸大；发货要及时，包装要结实，遇到问题要耐心沟通。"
) * 6
PARAGRAPH = PARAGRAPH[:600]

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100">'
    '<rect x="5" y="5" width="190" height="90" rx="10" fill="#fbeceb"'
    ' stroke="#a61e22" stroke-width="3"/>'
    '<circle cx="50" cy="50" r="25" fill="#2f7a4a"/>'
    '<text x="90" y="58" font-family="Noto Sans SC" font-size="20">网店</text>'
    "</svg>"
)

BODY = f"""开店之前，先想清楚**卖什么**和**卖给谁**。

### 准备清单

- 一部能上网的智能手机
- 身份证和银行卡，用于**实名认证**

1. 注册账号
2. 上传商品照片

{PARAGRAPH}

![网店示意图](shop.svg)

![找不到的图片](missing.svg)

![坏掉的图片](broken.svg)

最后一段：祝生意兴隆。"""


@pytest.fixture
def cert() -> CertificateDoc:
    return CertificateDoc(
        code="PP-7K3M-Q9XD-2WRT",
        learner="张*明",
        village="河北省 某县 某镇 某村",
        course_zh="农产品电商入门",
        course_en="Getting Started with Selling Farm Produce Online",
        issued_on=datetime.date(2026, 11, 29),
        issuer="某县人力资源和社会保障局 · ProPoor",
        verify_url=URL,
    )


@pytest.fixture
def images(tmp_path: Path) -> Path:
    (tmp_path / "shop.svg").write_text(SVG, encoding="utf-8")
    (tmp_path / "broken.svg").write_text("<svg><rect", encoding="utf-8")
    return tmp_path


@pytest.fixture
def handout(images: Path) -> HandoutDoc:
    return HandoutDoc(
        course_title="农产品电商入门",
        language="zh-hans",
        lessons=(
            HandoutLesson("什么是农村电商", 6, BODY),
            HandoutLesson("拍好商品照片", 8, "光线要充足，**不要**用闪光灯。"),
        ),
        images_dir=images,
        footer="ProPoor · 电商培训 · 2026-11-29",
        created_on=datetime.date(2026, 11, 29),
    )


# ----------------------------------------------------------------------------- helpers


def run(*args: str, data: bytes | None = None) -> str:
    """Run a poppler or zbar tool (fixed arguments, our own files) and return stdout."""
    done = subprocess.run(  # noqa: S603 (a fixed command line)
        list(args), input=data, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def pages_text(data: bytes) -> list[str]:
    """The text of each page, by pypdf if installed, else by pdftotext."""
    try:
        import pypdf
    except ImportError:
        pypdf = None
    if pypdf is not None:
        reader = pypdf.PdfReader(io.BytesIO(data))
        return [page.extract_text() for page in reader.pages]
    if shutil.which("pdftotext") is None:
        pytest.skip("reading PDF text needs pypdf or pdftotext (poppler-utils)")
    out = run("pdftotext", "-enc", "UTF-8", "-", "-", data=data)
    return out.split("\f")[:-1] if "\f" in out else [out]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_in_order(text: str, parts: list[str]) -> None:
    flat, at = squash(text), 0
    for part in parts:
        found = flat.find(squash(part), at)
        assert found >= 0, f"{part!r} missing after position {at}"
        at = found + len(squash(part))


def render_png(data: bytes, tmp_path: Path, page: int = 1, dpi: int = 100) -> Path:
    if shutil.which("pdftoppm") is None:
        pytest.skip("rendering needs pdftoppm (Debian package poppler-utils)")
    src = tmp_path / "doc.pdf"
    src.write_bytes(data)
    out = tmp_path / f"page{page}"
    run(
        "pdftoppm",
        "-png",
        "-r",
        str(dpi),
        "-f",
        str(page),
        "-l",
        str(page),
        "-singlefile",
        str(src),
        str(out),
    )
    return out.with_suffix(".png")


def measure_with(size: float):
    """A measure() for layout(): widths from the shipped font at `size` pt, in mm."""
    pdf = pdfmod._Pdf("portrait", None)
    pdf.set_font_size(size)
    return lambda text, _bold: pdf.measure(text)


# -------------------------------------------------------------------------------- font


def test_the_font_is_shipped_with_its_licence() -> None:
    from fontTools.ttLib import TTFont

    fonts = pdfmod.FONT_FILE.parent
    assert 5_000_000 < pdfmod.FONT_FILE.stat().st_size < 10_000_000
    assert "SIL OPEN FONT LICENSE" in (fonts / "OFL.txt").read_text(encoding="utf-8")
    font = TTFont(pdfmod.FONT_FILE, lazy=True)
    cmap = font.getBestCmap()
    assert all(ord(ch) in cmap for ch in "结业证书，。、“”《》（）：¥·×Aé")
    assert all(cp in cmap for cp in (0x4E00, 0x9FA5))  # first and last common hanzi
    assert "fpgm" not in font  # hinting dropped
    assert font["name"].getDebugName(6) == "NotoSansSC-Regular"


# ------------------------------------------------------------------------- certificate


def test_certificate_embeds_the_subset_font(cert: CertificateDoc) -> None:
    data = certificate_pdf(cert)
    assert data.startswith(b"%PDF-")
    assert b"/FontFile2" in data
    assert b"NotoSansSC" in data
    assert len(data) < 200_000  # a subset, not the 7.5 MB font


def test_certificate_is_deterministic(cert: CertificateDoc) -> None:
    first = certificate_pdf(cert)
    assert certificate_pdf(cert) == first
    other = CertificateDoc(**{**cert.__dict__, "code": "PP-AAAA-BBBB-CCCC"})
    assert certificate_pdf(other) != first


def test_certificate_text(cert: CertificateDoc) -> None:
    (text,) = pages_text(certificate_pdf(cert))
    assert_in_order(
        text,
        [
            "结业证书",
            "Certificate of Completion",
            "张*明",
            "已完成课程",
            "农产品电商入门",
            "Getting Started with Selling Farm Produce Online",
            "河北省 某县 某镇 某村",
            "2026年11月29日",
            "29 Nov 2026",
            "某县人力资源和社会保障局 · ProPoor",
            "PP-7K3M-Q9XD-2WRT",
            "扫码验证",
            URL,
        ],
    )


def test_certificate_metadata(cert: CertificateDoc) -> None:
    pypdf = pytest.importorskip("pypdf")
    meta = pypdf.PdfReader(io.BytesIO(certificate_pdf(cert))).metadata
    assert meta.author == "ProPoor"
    assert "PP-7K3M-Q9XD-2WRT" in meta.title
    assert "Certificate of Completion" in meta.subject
    china = datetime.timezone(datetime.timedelta(hours=8))
    assert meta.creation_date == datetime.datetime(2026, 11, 29, tzinfo=china)


def test_long_fields_stay_on_the_page(cert: CertificateDoc) -> None:
    long = CertificateDoc(
        **{
            **cert.__dict__,
            "course_zh": "农村电子商务运营与农产品品牌建设综合实践课程" * 3,
            "course_en": "Running an online shop for farm produce, step by step " * 3,
            "village": "",
            "verify_url": URL + "?" + "x" * 120,
        }
    )
    (text,) = pages_text(certificate_pdf(long))
    assert "农村电子商务运营" in text
    assert "2026年11月29日" in text


def test_qr_modules_are_segnos_matrix() -> None:
    qr = segno.make_qr(URL, error="m", boost_error=False)
    modules = qr_modules(URL)
    matrix = [[0] * len(row) for row in qr.matrix]
    for x, y in modules:
        matrix[y][x] = 1
    assert matrix == [[int(bool(v)) for v in row] for row in qr.matrix]
    # the drawing merges each row's dark modules into runs: they cover exactly them
    drawn = {(x + i, y) for x, y, n in pdfmod._qr_runs(modules) for i in range(n)}
    assert drawn == set(modules)
    assert len(drawn) == len(modules)


def test_certificate_renders_and_its_qr_code_scans(
    cert: CertificateDoc, tmp_path: Path
) -> None:
    from PIL import Image

    png = render_png(certificate_pdf(cert), tmp_path, dpi=150)
    with Image.open(png) as im:
        rgb = im.convert("RGB")
        assert rgb.size[0] > rgb.size[1]  # landscape
        colours = rgb.getcolors(maxcolors=1_000_000) or []
        dark = sum(n for n, (r, g, b) in colours if r + g + b < 150)
        red = sum(n for n, (r, g, b) in colours if r > 140 and g < 70 and b < 70)
        assert dark > 5_000, "no text or QR code drawn"
        assert red > 5_000, "no red frame or title drawn"
    if shutil.which("zbarimg") is None:
        pytest.skip("decoding the QR code needs zbarimg (Debian package zbar-tools)")
    assert run("zbarimg", "--quiet", "--raw", str(png)).strip() == URL


# ---------------------------------------------------------------------------- handouts


def test_handout_text_in_order(handout: HandoutDoc) -> None:
    data = handout_pdf(handout)
    text = "\n".join(pages_text(data))
    assert_in_order(
        text,
        [
            "农产品电商入门",
            "什么是农村电商",
            "约 6 分钟",
            "开店之前，先想清楚卖什么和卖给谁。",
            "准备清单",
            "一部能上网的智能手机",
            "身份证和银行卡，用于实名认证",
            "1.",
            "注册账号",
            "2.",
            "上传商品照片",
            PARAGRAPH,
            "网店示意图",
            "找不到的图片",  # missing image: its alt text in a box
            "坏掉的图片",  # unreadable SVG: the same
            "最后一段：祝生意兴隆。",
            "拍好商品照片",
            "约 8 分钟",
            "光线要充足，不要用闪光灯。",
        ],
    )
    assert "ProPoor · 电商培训 · 2026-11-29" in text
    pages = len(pages_text(data))
    assert squash(f"第 {pages} 页 / 共 {pages} 页") in squash(text)


def test_handout_is_deterministic_when_dated(handout: HandoutDoc) -> None:
    assert handout_pdf(handout) == handout_pdf(handout)


def test_long_chinese_paragraph_wraps_inside_the_margins() -> None:
    width = 210 - 2 * pdfmod.MARGIN
    measure = measure_with(pdfmod.BODY_SIZE)
    lines = layout([(PARAGRAPH, False)], width, measure)
    assert len(lines) >= 10  # 600 characters at 11 pt: about 43 a line
    assert all(sum(measure(t, b) for t, b in ln) <= width + 1e-6 for ln in lines)
    assert "".join(t for ln in lines for t, _ in ln) == PARAGRAPH
    assert min(sum(measure(t, b) for t, b in ln) for ln in lines[:-1]) > width - 10


def test_the_pdf_shows_the_paragraph_on_many_lines(handout: HandoutDoc) -> None:
    text = "\n".join(pages_text(handout_pdf(handout)))
    para_lines = [
        ln for ln in text.splitlines() if squash(ln) and squash(ln) in PARAGRAPH
    ]
    assert len(para_lines) >= 10


def test_no_word_crosses_the_right_margin(handout: HandoutDoc, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("needs pdftotext (Debian package poppler-utils)")
    src = tmp_path / "h.pdf"
    src.write_bytes(handout_pdf(handout))
    html = run("pdftotext", "-bbox", str(src), "-")
    right = (210 - pdfmod.MARGIN) * 72 / 25.4
    left = pdfmod.MARGIN * 72 / 25.4
    boxes = [
        (float(a), float(b))
        for a, b in re.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', html)
    ]
    assert len(boxes) > 50
    assert all(left - 0.5 <= x0 and x1 <= right + 0.5 for x0, x1 in boxes)


def test_handout_in_english(images: Path) -> None:
    doc = HandoutDoc(
        course_title="Selling farm produce online",
        language="en",
        lessons=(
            HandoutLesson(
                "What is rural e-commerce?",
                5,
                "Selling online means **trust**. " * 40 + "\n\n- Photos\n- Prices",
            ),
        ),
        images_dir=images,
        footer="ProPoor · Training",
    )
    text = "\n".join(pages_text(handout_pdf(doc)))
    assert_in_order(text, ["What is rural e-commerce?", "about 5 min", "Photos"])
    assert "Page 1 of 1" in text
    # Latin words are never cut in two at a line end
    for line in text.splitlines():
        for word in line.split():
            assert word.strip(".?") in {
                "Selling",
                "online",
                "means",
                "trust",
                "What",
                "is",
                "rural",
                "e-commerce",
                "about",
                "5",
                "min",
                "Photos",
                "Prices",
                "Page",
                "1",
                "of",
                "ProPoor",
                "·",
                "Training",
                "farm",
                "produce",
            }, word


def test_handout_renders(handout: HandoutDoc, tmp_path: Path) -> None:
    from PIL import Image

    png = render_png(handout_pdf(handout), tmp_path)
    with Image.open(png) as im:
        rgb = im.convert("RGB")
        assert rgb.size[0] < rgb.size[1]  # portrait
        colours = rgb.getcolors(maxcolors=1_000_000) or []
        dark = sum(n for n, (r, g, b) in colours if r + g + b < 200)
        assert dark > 5_000


# ------------------------------------------------------------------------ line breaking


def test_layout_keeps_punctuation_off_line_starts_and_latin_words_whole() -> None:
    measure = measure_with(11)
    text = "我们使用 ProPoor 平台，把“小米”卖到城里。" * 12
    lines = layout([(text, False)], 60, measure)
    assert len(lines) > 3
    joined = [("".join(t for t, _ in ln)) for ln in lines]
    for line in joined:
        assert line[0] not in pdfmod.NO_START
        assert line[-1] not in pdfmod.NO_END
    assert "ProPoor" in squash("".join(joined))
    assert not any(ln.endswith(("Pro", "ProP")) for ln in joined)


def test_layout_keeps_bold_runs() -> None:
    lines = layout(
        [("要", False), ("诚信", True), ("。", False)], 100, measure_with(11)
    )
    assert lines == [[("要", False), ("诚信", True), ("。", False)]]


def test_layout_splits_what_cannot_fit_a_line() -> None:
    measure = measure_with(11)
    lines = layout([("x" * 200, False)], 30, measure)
    assert len(lines) > 1
    assert all(sum(measure(t, b) for t, b in ln) <= 30 for ln in lines)


def test_images_come_only_from_the_images_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside"):
        pdfmod._image_path(tmp_path / "images", "../secret.svg")
