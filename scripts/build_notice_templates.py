"""Build the shipped notice templates (``rules/templates/notices/*.docx``) with python-docx: reproducible, 公文 layout.

    .venv/bin/python scripts/build_notice_templates.py [OUT_DIR]

Each template is an ordinary Word document with docxtpl placeholders (``{{ parcel_id }}``, a table row looping
``{%tr for m in measures %}``, paragraphs looping ``{%p for c in clauses %}``) that an office edits in Word or
WPS; ``rules.notices`` fills them. Layout (GB/T 9704-2012 党政机关公文格式): A4, margins top 37 mm, bottom 35 mm,
left 28 mm, right 26 mm; title 黑体 二号 (22 pt), headings 黑体 三号, body 仿宋 三号 (16 pt), fixed 28 pt
lines, two-character first-line indent. The placeholders each sit in one run, as docxtpl needs.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

BODY_FONT, HEAD_FONT = "仿宋", "黑体"
BODY_PT, TITLE_PT, TABLE_PT = 16, 22, 12
FIXED_TIME = datetime(2026, 1, 1)
OUT = Path(__file__).resolve().parent.parent / "rules" / "templates" / "notices"

# kind → (file, title, the facts sentence, headings, the request paragraphs)
NOTICES = {
    "idle": (
        "idle.docx",
        "闲置土地调查通知书",
        "经核查，你单位使用的国有建设用地（宗地编号 {{ parcel_id }}，位于{{ place }}，面积 {{ area_mu }} 亩）"
        "涉嫌构成闲置土地。依据《闲置土地处置办法》（国土资源部令第53号），现对该宗地开展调查核实。",
        ("一、涉嫌闲置的基本情况", "二、相关日期", "三、调查依据", "四、调查内容及提交材料期限"),
        [
            "请你单位自收到本通知书之日起三十日内，向我单位提供土地开发利用情况、闲置原因以及相关说明等材料。"
            "属于政府、政府有关部门的行为或者不可抗力造成动工开发延迟的，请一并提供土地闲置原因说明材料（第八条）。",
            "逾期未提供材料的，将依据已掌握的情况予以认定。",
        ],
    ),
    "low_efficiency": (
        "low_efficiency.docx",
        "低效用地整改告知书",
        "经 {{ as_of }} 亩均效益评价，你单位使用的工业用地（宗地编号 {{ parcel_id }}，位于{{ place }}，"
        "面积 {{ area_mu }} 亩）低于低效工业用地认定底线，现将有关情况告知如下。",
        ("一、评价结果", "二、相关日期", "三、政策依据", "四、整改要求"),
        [
            "请你单位自收到本告知书之日起三十日内提出整改方案，可通过扩建续建生产厂房、建设标准厂房、发展新型产业、"
            "整体或分割转让等方式提高土地利用效率，并报送我单位。",
            "对评价结果有异议的，请在上述期限内提供书面说明和相关证明材料。",
        ],
    ),
    "standard_land": (
        "standard_land.docx",
        "标准地达产复核意见",
        "你单位以“标准地”方式取得的工业用地（宗地编号 {{ parcel_id }}，位于{{ place }}，面积 {{ area_mu }} 亩）"
        "已到约定达产日期。经复核，未达到出让时约定的效益指标，复核意见如下。",
        ("一、复核结果", "二、相关日期", "三、政策依据", "四、处理意见"),
        [
            "请你单位自收到本意见之日起三十日内说明未达约定指标的原因，提出整改措施和达产时限；"
            "我单位将按照土地出让合同及履约监管协议的约定处理。",
            "对复核结果有异议的，请在上述期限内提供书面说明和相关证明材料。",
        ],
    ),
}


def _font(run, name: str, size: float, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    rpr = run._element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _para(doc, text: str = "", *, font: str = BODY_FONT, size: float = BODY_PT, bold: bool = False,
          align=None, indent: bool = True, space_after: float = 0):
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(28 if size <= BODY_PT else size * 1.6)
    fmt.space_before, fmt.space_after = Pt(0), Pt(space_after)
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    if align is not None:
        p.alignment = align
    if text:
        _font(p.add_run(text), font, size, bold)
    return p


def _table(doc, headers: tuple[str, ...], cells: tuple[str, ...], loop: str) -> None:
    """A bordered table: a header row, then ``{%tr for … %}``, the row of placeholders, ``{%tr endfor %}``."""
    t = doc.add_table(rows=4, cols=len(headers))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    rows = [headers, (loop,) + ("",) * (len(headers) - 1), cells, ("{%tr endfor %}",) + ("",) * (len(headers) - 1)]
    for r, texts in enumerate(rows):
        for c, text in enumerate(texts):
            cell = t.cell(r, c)
            p = cell.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER if r == 0 else WD_ALIGN_PARAGRAPH.LEFT
            if text:
                _font(p.add_run(text), HEAD_FONT if r == 0 else BODY_FONT, TABLE_PT, False)


def build(kind: str, out_dir: Path) -> Path:
    """Write the template of ``kind`` (a key of :data:`NOTICES`) into ``out_dir``."""
    file, title, facts, heads, requests = NOTICES[kind]
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(37), Mm(35), Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = BODY_FONT, Pt(BODY_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    doc.core_properties.title = title
    doc.core_properties.subject = "mujun 告知书模板：双花括号内的占位符由程序填写，其余文字可自行修改"
    doc.core_properties.author = doc.core_properties.last_modified_by = "mujun"
    doc.core_properties.created = doc.core_properties.modified = FIXED_TIME  # the same text on every build
    doc.core_properties.revision = 1

    _para(doc, "文号：＿＿＿＿〔＿＿＿＿〕＿＿＿号", align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False, space_after=12)
    _para(doc, title, font=HEAD_FONT, size=TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, space_after=18)
    _para(doc, "{{ enterprise }}：", indent=False)
    _para(doc, facts)
    _para(doc, heads[0], font=HEAD_FONT)
    _para(doc, "{{ finding }}")
    _table(doc, ("指标", "测算值", "标准"), ("{{ m.name }}", "{{ m.value }}", "{{ m.threshold }}"),
           "{%tr for m in measures %}")
    _para(doc, heads[1], font=HEAD_FONT)
    _table(doc, ("事项", "日期", "状态"), ("{{ e.label }}", "{{ e.date }}", "{{ e.phase }}"),
           "{%tr for e in events %}")
    _para(doc, heads[2], font=HEAD_FONT)
    _para(doc, "{{ clause_title }}：", indent=True)
    _para(doc, "{%p for c in clauses %}", indent=False)
    _para(doc, "{{ c }}")
    _para(doc, "{%p endfor %}", indent=False)
    _para(doc, heads[3], font=HEAD_FONT)
    for text in requests:
        _para(doc, text)
    _para(doc, "联系人：＿＿＿＿＿＿　　联系电话：＿＿＿＿＿＿＿＿")
    _para(doc)
    _para(doc, "＿＿＿＿＿＿＿＿＿＿（盖章）", align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _para(doc, "签发人：＿＿＿＿＿＿", align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _para(doc, "＿＿＿＿年＿＿月＿＿日", align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False, space_after=12)
    _para(doc, "（评估基准日 {{ as_of }}；规则集 {{ ruleset }}。本文书由 mujun 根据评估结果生成，发出前请核对。）",
          size=12, indent=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / file
    doc.save(str(path))
    return path


def main(argv: list[str]) -> None:
    """Build every template (into ``argv[1]`` if given)."""
    out_dir = Path(argv[1]) if len(argv) > 1 else OUT
    for kind in NOTICES:
        print(build(kind, out_dir))


if __name__ == "__main__":
    main(sys.argv)
