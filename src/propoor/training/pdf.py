"""PDF certificates and lesson handouts.

Pure functions: they take frozen dataclasses and return the bytes of a PDF, with no
Django model behind them, so the views and the CLI can both call them and tests need no
database.

Chinese must render on any reader, so the project's own subset of Noto Sans SC
(``fonts/``, SIL OFL 1.1) is embedded in every PDF; fpdf2 embeds only the glyphs used.

Text is laid out here rather than with ``multi_cell``: fpdf2 breaks lines at spaces,
and a Chinese paragraph has none, so it would only ever break it where a line is
full and never at a better place, and a Chinese paragraph with one Latin word in it
breaks at that word's spaces and leaves a short line. ``layout`` breaks between any two
CJK characters, keeps Latin words whole, and keeps closing punctuation (，。」) off the
start of a line and opening punctuation (「（) off its end.

The same input gives the same bytes: the creation date comes from the document and
fpdf2 derives the file /ID from the content.
"""

from __future__ import annotations

import datetime
import io
import pathlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import segno
from fpdf import FPDF
from fpdf.enums import ResourceAccessPolicy, TextMode
from fpdf.svg import SVGObject

from propoor.training import body as lesson_body

FONT_FILE = (
    pathlib.Path(__file__).resolve().parent / "fonts" / "NotoSansSC-Regular-subset.ttf"
)
#: The fpdf2 family name. SVG images whose <text> asks for font-family "Noto Sans SC"
#: are drawn with this font too (fpdf2 looks SVG families up among the added fonts).
FONT = "Noto Sans SC"

CHINA = datetime.timezone(datetime.timedelta(hours=8), "CST")  # no DST since 1991
MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec"  # not %b: that follows the locale

# Colours of the web site (web/static/propoor/site.css).
Color = tuple[int, int, int]
RED = (166, 30, 34)
AMBER = (183, 121, 31)
INK = (31, 35, 40)
MUTED = (91, 101, 112)
LINE = (227, 230, 234)
SOFT = (250, 251, 252)

# Fake bold: the glyphs are stroked as well as filled (PDF text render mode 2). fpdf2
# writes this line width inside the text object as is, in points.
BOLD_STROKE = 0.3


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class CertificateDoc:
    code: str  # e.g. "PP-7K3M-Q9XD-2WRT"
    learner: str  # already masked, e.g. "张*明"
    village: str  # e.g. "河北省 某县 某镇 某村" (may be empty)
    course_zh: str
    course_en: str
    issued_on: datetime.date
    issuer: str  # e.g. "某县人力资源和社会保障局 · ProPoor"
    verify_url: str  # absolute URL of the public verification page


@dataclass(frozen=True)
class HandoutLesson:
    title: str
    minutes: int
    body: str  # lesson body in the Markdown subset of propoor.training.body


@dataclass(frozen=True)
class HandoutDoc:
    course_title: str
    language: str  # "zh-hans" or "en"
    lessons: tuple[HandoutLesson, ...]
    images_dir: pathlib.Path  # where images referenced by bodies live (SVG files)
    footer: str  # e.g. "ProPoor · 电商培训 · 2026-11-29"
    #: The PDF's creation date; None means now. Give it for byte-identical output.
    created_on: datetime.date | None = None


# ------------------------------------------------------------------------ small helpers


def date_zh(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def date_en(day: datetime.date) -> str:
    return f"{day.day} {MONTHS[3 * day.month - 3 : 3 * day.month]} {day.year}"


def china_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=CHINA)


def qr_modules(url: str) -> list[tuple[int, int]]:
    """The dark modules (column, row) of the QR code for `url`, without quiet zone.

    Error correction M, the smallest version that fits. The certificate draws exactly
    these squares, so a test can compare them with segno's own matrix.
    """
    qr = segno.make_qr(url, error="m", boost_error=False)
    return [
        (x, y) for y, row in enumerate(qr.matrix) for x, dark in enumerate(row) if dark
    ]


def _qr_runs(modules: list[tuple[int, int]]) -> Iterator[tuple[int, int, int]]:
    """Horizontal runs (x, y, length) of dark modules: fewer rectangles, no seams."""
    dark = set(modules)
    for x, y in sorted(modules, key=lambda m: (m[1], m[0])):
        if (x - 1, y) in dark:
            continue
        length = 1
        while (x + length, y) in dark:
            length += 1
        yield x, y, length


# ----------------------------------------------------------------------- line breaking

#: May not start a line (closing punctuation, small marks).
NO_START = frozenset(
    "，。、；：？！）」』》〉】〕〗〙〛”’…‥·・～%‰℃°,.;:?!)]}>"
    "ー々〻ゝゞ\u3001\u3002\uff0c\uff0e\uff1a\uff1b\uff01\uff1f\uff09\uff3d\uff5d"
)
#: May not end a line (opening punctuation).
NO_END = frozenset("（「『《〈【〔〖〘〚“‘([{<\uff08\uff3b\uff5b")


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x2E80
        <= cp
        <= 0x9FFF  # radicals, CJK symbols and punctuation, kana, ideographs
        or 0xF900 <= cp <= 0xFAFF  # compatibility ideographs
        or 0xFF00 <= cp <= 0xFFEF  # fullwidth forms
        or 0x20000 <= cp <= 0x3FFFF  # extension blocks
        or ch in "“”‘’…—"  # CJK-width punctuation in this font
    )


def _break_before(prev: str, ch: str) -> bool:
    """May a line break between `prev` and `ch`?"""
    if ch.isspace() or ch in NO_START or prev in NO_END:
        return False
    if prev == ch and ch in "—…":  # the two halves of —— and ……
        return False
    if prev.isspace() or prev in "/?&":  # also inside URLs, after a path segment
        return True
    return _is_cjk(prev) or _is_cjk(ch)


Run = tuple[str, bool]  # (text, bold), as in propoor.training.body
Measure = Callable[[str, bool], float]


def _units(runs: Iterable[Run]) -> list[list[Run]]:
    """Split runs into unbreakable units; a unit may change style half-way."""
    units: list[list[Run]] = []
    prev = ""
    for text, bold in runs:
        for ch in text.replace("\n", " ").replace("\t", " "):
            if not units or (prev and _break_before(prev, ch)):
                units.append([])
            unit = units[-1]
            if unit and unit[-1][1] == bold:
                unit[-1] = (unit[-1][0] + ch, bold)
            else:
                unit.append((ch, bold))
            prev = ch
    return units


def _rstrip(line: list[Run]) -> list[Run]:
    while line and not line[-1][0].strip():
        line = line[:-1]
    if line:
        line = [*line[:-1], (line[-1][0].rstrip(), line[-1][1])]
    return line


def _merge(line: list[Run]) -> list[Run]:
    out: list[Run] = []
    for text, bold in line:
        if out and out[-1][1] == bold:
            out[-1] = (out[-1][0] + text, bold)
        elif text:
            out.append((text, bold))
    return out


def layout(runs: Iterable[Run], width: float, measure: Measure) -> list[list[Run]]:
    """Greedy line breaking of styled runs into lines no wider than `width`.

    `measure(text, bold)` gives the width of a string in the same unit as `width`.
    A unit wider than a whole line (a long URL) is split between characters.
    """
    lines: list[list[Run]] = []
    line: list[Run] = []
    used = 0.0

    def unit_width(unit: list[Run]) -> float:
        return sum(measure(text, bold) for text, bold in unit)

    for unit in _units(runs):
        w = unit_width(unit)
        trimmed = unit_width(_rstrip(unit))  # trailing spaces may hang in the margin
        if line and used + trimmed > width:
            lines.append(_merge(_rstrip(line)))
            line, used = [], 0.0
            if not "".join(t for t, _ in unit).strip():
                continue  # a space that caused the break is dropped
        if not line and trimmed > width:  # split it character by character
            for text, bold in unit:
                for ch in text:
                    cw = measure(ch, bold)
                    if line and used + cw > width:
                        lines.append(_merge(_rstrip(line)))
                        line, used = [], 0.0
                    line.append((ch, bold))
                    used += cw
            continue
        if not line:
            unit = [(unit[0][0].lstrip(), unit[0][1]), *unit[1:]]
            w = unit_width(unit)
        line.extend(unit)
        used += w
    if line:
        lines.append(_merge(_rstrip(line)))
    return [ln for ln in lines if ln]


# ------------------------------------------------------------------------ the PDF class


class _Pdf(FPDF):
    """FPDF with the project's font, metadata and an optional running footer."""

    def __init__(self, orientation: str, created: datetime.datetime | None) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.add_font(FONT, "", FONT_FILE)
        self.set_font(FONT, size=11)
        self.set_author("ProPoor")
        self.set_creator("ProPoor")
        self.set_lang("zh-CN")
        if created is not None:
            self.set_creation_date(created)
        # Images come from our own folder only: an SVG may not fetch anything.
        self.resource_access_policy = ResourceAccessPolicy.NONE
        self.footer_text = ""
        self.page_label = "{page} / {nb}"
        self._widths: dict[tuple[str, float], float] = {}

    # Width of a string at the current size, summed per character: without text
    # shaping fpdf2 adds glyph advances, so this is exact and much faster.
    def measure(self, text: str) -> float:
        size = self.font_size_pt
        total = 0.0
        for ch in text:
            key = (ch, size)
            w = self._widths.get(key)
            if w is None:
                w = self._widths[key] = self.get_string_width(ch)
            total += w
        return total

    def footer(self) -> None:
        if not self.footer_text:
            return
        self.set_y(-14)
        self.set_draw_color(*LINE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.y, self.w - self.r_margin, self.y)
        self.set_font(FONT, size=8.5)
        self.set_text_color(*MUTED)
        self.set_y(-12)
        label = self.page_label.format(page=self.page_no(), nb="{nb}")
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, label, align="R")


def _text_line(
    pdf: _Pdf, x: float, baseline: float, line: list[Run], color: Color
) -> float:
    """Draw one laid-out line at its baseline; returns its width."""
    start = x
    for text, bold in line:
        if bold:
            with pdf.local_context(
                text_mode=TextMode.FILL_STROKE,
                line_width=BOLD_STROKE,
                draw_color=color,
                text_color=color,
            ):
                pdf.text(x, baseline, text)
        else:
            pdf.set_text_color(*color)
            pdf.text(x, baseline, text)
        x += pdf.measure(text)
    return x - start


def _fit_size(
    pdf: _Pdf, text: str, width: float, size: float, smallest: float
) -> float:
    """The largest size <= `size` (>= `smallest`) at which `text` fits `width`."""
    pdf.set_font_size(size)
    while size > smallest and pdf.measure(text) > width:
        size = max(smallest, size - 0.5)
        pdf.set_font_size(size)
    return size


def _centred(
    pdf: _Pdf,
    text: str,
    y: float,
    size: float,
    color: Color,
    *,
    x0: float,
    width: float,
    smallest: float | None = None,
    leading: float = 1.35,
    bold: bool = False,
) -> float:
    """Centred text in [x0, x0+width], top at `y`; shrinks then wraps. Returns new y."""
    if not text:
        return y
    size = _fit_size(pdf, text, width, size, smallest or size)
    pt = size * 25.4 / 72
    lines = layout([(text, bold)], width, lambda t, _b: pdf.measure(t))
    for line in lines:
        w = sum(pdf.measure(t) for t, _ in line)
        _text_line(pdf, x0 + (width - w) / 2, y + pt * 0.88, line, color)
        y += pt * leading
    return y


def _ellipsis(pdf: _Pdf, text: str, width: float) -> str:
    """`text`, cut with "…" if it is wider than `width` at the current size."""
    if pdf.measure(text) <= width:
        return text
    while text and pdf.measure(text + "…") > width:
        text = text[:-1]
    return text + "…"


# ------------------------------------------------------------------------- certificate


def certificate_pdf(doc: CertificateDoc) -> bytes:
    """A4 landscape certificate of completion, with a QR code to verify it."""
    pdf = _Pdf("landscape", china_midnight(doc.issued_on))
    pdf.set_title(f"结业证书 · {doc.course_zh} · {doc.code}")
    pdf.set_subject(f"Certificate of Completion: {doc.course_en}")
    pdf.set_keywords(f"ProPoor certificate {doc.code}")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_page()
    W, H = pdf.w, pdf.h  # 297 x 210

    # Frame: a red outer rule, a thin amber inner one, and small corner marks.
    pdf.set_fill_color(255, 253, 248)
    pdf.rect(0, 0, W, H, style="F")
    pdf.set_draw_color(*RED)
    pdf.set_line_width(1.4)
    pdf.rect(9, 9, W - 18, H - 18)
    pdf.set_draw_color(*AMBER)
    pdf.set_line_width(0.35)
    pdf.rect(13, 13, W - 26, H - 26)
    pdf.set_fill_color(*AMBER)
    for cx, cy in ((13, 13), (W - 13, 13), (13, H - 13), (W - 13, H - 13)):
        pdf.rect(cx - 2, cy - 2, 4, 4, style="F")

    body_x, body_w = 30.0, W - 60.0
    y = 27.0
    y = _centred(pdf, "结业证书", y, 36, RED, x0=body_x, width=body_w, bold=True)
    y = _centred(
        pdf, "Certificate of Completion", y + 1, 14, MUTED, x0=body_x, width=body_w
    )
    pdf.set_draw_color(*AMBER)
    pdf.set_line_width(0.4)
    pdf.line(W / 2 - 30, y + 3, W / 2 + 30, y + 3)
    y += 9

    y = _centred(
        pdf, "兹证明  This is to certify that", y, 11, MUTED, x0=body_x, width=body_w
    )
    y = _centred(pdf, doc.learner, y + 2, 30, INK, x0=body_x, width=body_w, smallest=16)
    y = _centred(
        pdf,
        "已完成课程  has completed the course",
        y + 2,
        11,
        MUTED,
        x0=body_x,
        width=body_w,
    )
    y = _centred(
        pdf, doc.course_zh, y + 2, 20, RED, x0=body_x, width=body_w, smallest=13
    )
    y = _centred(pdf, doc.course_en, y, 13, INK, x0=body_x, width=body_w, smallest=9)
    if doc.village:
        _centred(
            pdf, doc.village, y + 3, 10.5, MUTED, x0=body_x, width=body_w, smallest=8
        )

    # Bottom band: date, issuer and code on the left; the QR code on the right.
    qr_size = 34.0
    qr_x, qr_y = W - 30 - qr_size, H - 28 - qr_size - 12
    left_x, left_w = 30.0, qr_x - 30 - 12
    rows = (
        (
            "颁发日期 / Date of issue",
            f"{date_zh(doc.issued_on)}    {date_en(doc.issued_on)}",
        ),
        ("颁发单位 / Issued by", doc.issuer),
        ("证书编号 / Certificate No.", doc.code),
    )
    ly = qr_y - 2
    for label, value in rows:
        pdf.set_font_size(8.5)
        _text_line(pdf, left_x, ly + 3, [(label, False)], MUTED)
        size = _fit_size(pdf, value, left_w, 12, 8)
        value = _ellipsis(pdf, value, left_w)
        _text_line(
            pdf, left_x, ly + 3 + size * 0.3528 * 1.25 + 1.5, [(value, False)], INK
        )
        ly += 15
    _draw_qr(pdf, doc.verify_url, qr_x, qr_y, qr_size)
    # Under the code, centred on it, and inside the inner frame (which is at W - 13).
    half = W - 18 - (qr_x + qr_size / 2)
    y = qr_y + qr_size + 1.5
    y = _centred(
        pdf, "扫码验证 / Scan to verify", y, 8.5, INK, x0=qr_x - 12, width=qr_size + 24
    )
    _centred(
        pdf,
        doc.verify_url,
        y,
        6.5,
        MUTED,
        x0=qr_x + qr_size / 2 - half,
        width=2 * half,
        smallest=5,
    )
    return bytes(pdf.output())


def _draw_qr(pdf: _Pdf, url: str, x: float, y: float, size: float) -> None:
    modules = qr_modules(url)
    n = 1 + max(max(mx for mx, _ in modules), max(my for _, my in modules))
    quiet = 2  # modules of white margin drawn around it (the frame is light anyway)
    unit = size / (n + 2 * quiet)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    ox, oy = x + quiet * unit, y + quiet * unit
    for mx, my, length in _qr_runs(modules):
        pdf.rect(ox + mx * unit, oy + my * unit, length * unit, unit, style="F")


# ---------------------------------------------------------------------------- handouts

LABELS = {
    "zh-hans": {
        "minutes": "约 {n} 分钟",
        "page": "第 {page} 页 / 共 {nb} 页",
        "image": "图片",
    },
    "en": {"minutes": "about {n} min", "page": "Page {page} of {nb}", "image": "Image"},
}

MARGIN = 20.0
BODY_SIZE = 11.0
BODY_LEADING = 1.75  # line height as a multiple of the font size (CJK needs air)


class _Flow:
    """A cursor that flows laid-out text down A4 portrait pages."""

    def __init__(self, pdf: _Pdf) -> None:
        self.pdf = pdf
        self.left = MARGIN
        self.width = pdf.w - 2 * MARGIN
        self.bottom = pdf.h - 22  # above the footer

    @property
    def y(self) -> float:
        return self.pdf.y

    def space(self, mm: float) -> None:
        self.pdf.set_y(self.y + mm)

    def need(self, mm: float) -> None:
        """Start a new page unless `mm` fit below the cursor."""
        if self.y + mm > self.bottom:
            self.pdf.add_page()
            self.pdf.set_y(MARGIN)

    def runs(
        self,
        runs: Iterable[Run],
        size: float,
        color: Color = INK,
        *,
        indent: float = 0.0,
        leading: float = BODY_LEADING,
        keep: float = 0.0,
        centred: bool = False,
    ) -> list[list[Run]]:
        """Lay out and draw runs; `keep` mm of what follows must fit under line 1."""
        pdf = self.pdf
        pdf.set_font_size(size)
        pt = size * 25.4 / 72
        step = pt * leading
        lines = layout(runs, self.width - indent, lambda t, _b: pdf.measure(t))
        for i, line in enumerate(lines):
            self.need(step + (keep if i == 0 else 0))
            baseline = self.y + (step - pt) / 2 + pt * 0.88
            x = self.left + indent
            if centred:
                x += (self.width - indent - sum(pdf.measure(t) for t, _ in line)) / 2
            _text_line(pdf, x, baseline, line, color)
            self.space(step)
        return lines

    def item(
        self, marker: str | None, runs: Iterable[Run], indent: float = 7.0
    ) -> None:
        """A list item: a dot (marker None) or a number, hanging in the indent."""
        pdf = self.pdf
        pdf.set_font_size(BODY_SIZE)
        pt = BODY_SIZE * 25.4 / 72
        step = pt * BODY_LEADING
        self.need(step)
        top = self.y
        centre = top + step / 2 + pt * 0.05
        if marker is None:
            pdf.set_fill_color(*RED)
            r = 0.8
            pdf.ellipse(self.left + 2.2 - r, centre - r, 2 * r, 2 * r, style="F")
        else:
            w = pdf.measure(marker)
            baseline = top + (step - pt) / 2 + pt * 0.88
            _text_line(
                pdf, self.left + indent - 1.6 - w, baseline, [(marker, False)], RED
            )
        self.runs(runs, BODY_SIZE, indent=indent)

    def image(self, images: pathlib.Path, src: str, alt: str, label: str) -> None:
        try:
            path = _image_path(images, src)
            w, h = self._image_size(path)
            self.need(h + 2)
            x = self.left + (self.width - w) / 2
            self.pdf.image(io.BytesIO(path.read_bytes()), x=x, y=self.y, w=w, h=h)
            self.space(h)
        except Exception:  # a broken or missing image must not break the handout
            self.alt_box(f"{label}：{alt}" if alt else label)
            return
        if alt:
            self.space(1.5)
            self.runs([(alt, False)], 9, MUTED, leading=1.5, centred=True)

    def _image_size(self, path: pathlib.Path) -> tuple[float, float]:
        """Width and height in mm: 3/4 of the text width, at most 90 mm high."""
        if path.suffix.lower() == ".svg":
            svg = SVGObject(
                path.read_bytes(), resource_access_policy=ResourceAccessPolicy.NONE
            )
            if svg.viewbox:
                iw, ih = float(svg.viewbox[2]), float(svg.viewbox[3])
            else:
                iw, ih = float(svg.width), float(svg.height)  # type: ignore[arg-type]
        else:
            from PIL import Image

            with Image.open(path) as im:
                iw, ih = im.size
        if iw <= 0 or ih <= 0:
            raise ValueError(f"image without a size: {path.name}")
        w = self.width * 0.75
        h = w * ih / iw
        if h > 90:
            w, h = w * 90 / h, 90.0
        return w, h

    def alt_box(self, text: str) -> None:
        pdf = self.pdf
        pdf.set_font_size(10)
        lines = layout([(text, False)], self.width - 16, lambda t, _b: pdf.measure(t))
        pt = 10 * 25.4 / 72
        step = pt * 1.6
        h = len(lines) * step + 8
        self.need(h)
        top = self.y
        pdf.set_draw_color(*LINE)
        pdf.set_fill_color(*SOFT)
        pdf.set_line_width(0.3)
        with pdf.local_context(dash_pattern={"dash": 1.5, "gap": 1.2}):
            pdf.rect(
                self.left,
                top,
                self.width,
                h,
                style="DF",
                round_corners=True,
                corner_radius=2,
            )
        y = top + 4
        for line in lines:
            lw = sum(pdf.measure(t) for t, _ in line)
            _text_line(
                pdf,
                self.left + (self.width - lw) / 2,
                y + (step - pt) / 2 + pt * 0.88,
                line,
                MUTED,
            )
            y += step
        pdf.set_y(top + h)

    def rule(self) -> None:
        self.pdf.set_draw_color(*LINE)
        self.pdf.set_line_width(0.3)
        self.pdf.line(self.left, self.y, self.left + self.width, self.y)


def handout_pdf(doc: HandoutDoc) -> bytes:
    """A4 portrait handout of a course's lessons, for printing."""
    labels = LABELS.get(doc.language, LABELS["zh-hans"])
    created = china_midnight(doc.created_on) if doc.created_on else None
    pdf = _Pdf("portrait", created)
    pdf.set_lang("en" if doc.language == "en" else "zh-CN")
    pdf.set_title(doc.course_title)
    pdf.set_subject(
        "课程讲义 / Course handout" if doc.language != "en" else "Course handout"
    )
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(False)
    pdf.footer_text = doc.footer
    pdf.page_label = labels["page"]
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_y(MARGIN)
    flow = _Flow(pdf)

    flow.runs([(doc.course_title, True)], 20, RED, leading=1.4)
    flow.space(1)
    pdf.set_draw_color(*RED)
    pdf.set_line_width(0.6)
    pdf.line(flow.left, flow.y, flow.left + 24, flow.y)
    flow.space(6)

    for n, lesson in enumerate(doc.lessons):
        if n:
            flow.space(3)
            flow.need(40)
            flow.rule()
            flow.space(5)
        flow.runs([(lesson.title, True)], 15, INK, leading=1.45, keep=20)
        flow.runs(
            [(labels["minutes"].format(n=lesson.minutes), False)], 9, MUTED, leading=1.6
        )
        flow.space(2)
        _blocks(flow, lesson_body.parse(lesson.body), doc.images_dir, labels["image"])
    return bytes(pdf.output())


def _blocks(
    flow: _Flow, blocks: list[lesson_body.Block], images: pathlib.Path, label: str
) -> None:
    for block in blocks:
        if block.kind == "h":
            flow.space(2)
            flow.runs(
                [(t, True) for t, _ in block.runs], 12.5, INK, leading=1.6, keep=12
            )
        elif block.kind == "p":
            flow.runs(block.runs, BODY_SIZE)
        elif block.kind in ("ul", "ol"):
            for i, item in enumerate(block.items, start=1):
                flow.item(None if block.kind == "ul" else f"{i}.", item)
        elif block.kind == "img":
            flow.space(1)
            flow.image(images, block.src, block.alt, label)
        flow.space(2.5)


def _image_path(images: pathlib.Path, src: str) -> pathlib.Path:
    """The file for an image name, never outside `images` (body.IMAGE allows no '/')."""
    path = (images / src).resolve()
    if path.parent != images.resolve():
        raise ValueError(f"image outside the images folder: {src!r}")
    return path
