"""Telling a question (hỏi đáp: the citizen asks how, where, how long) from a complaint (phản ánh:
something is wrong and someone should act).

The rule, tested on labelled examples in tests/unit/test_questions.py:
- asking signals add to the question side: "cho hỏi", "xin hỏi", "thủ tục", "ở đâu", "bao lâu",
  "như thế nào", "cần giấy tờ gì", "có ... không" at the end of a clause, "?" ...;
- reporting or demanding adds to the complaint side: "đề nghị", "xin phản ánh", damage and nuisance
  words, "3 ngày nay", "quá hẹn" ... and, weighing most, a demand dressed as a question:
  "ai chịu trách nhiệm?", "bao giờ mới sửa?", "sao chưa ...", "đến bao giờ";
- a message is a question only when the asking side weighs more. Ties, and messages with neither,
  are complaints: a complaint read as a question could get an automatic answer instead of an agency.

Accent-aware matching: a word the citizen wrote with diacritics must match a signal's diacritics
("mùi hôi" is a smell, not "hỏi"); a word written without them matches the folded signal ("mui hoi"
still is a smell, "cho hoi" still asks). Signals whose folded form is an everyday word ("bể"/"bé",
"vỡ"/"vợ", "đổ"/"do") appear only inside longer phrases ("cây đổ"). SMS shorthand (ko, dc, j, ntn,
bn, e ...) is expanded first.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Mapping

from chalicelib.domain.text import fold

# Shorthand seen in questions, expanded before matching (accented: it matches either spelling).
SHORTHAND: dict[str, str] = {
    "ko": "không", "k": "không", "kg": "không", "khg": "không", "hok": "không", "hong": "không", "kh": "không",
    "dc": "được", "đc": "được", "j": "gì", "ntn": "như thế nào", "bn": "bao nhiêu", "bnhieu": "bao nhiêu",
    "e": "em", "mk": "mình", "mik": "mình", "lm": "làm", "r": "rồi", "ah": "ạ", "a": "ạ", "ak": "ạ",
    "trc": "trước", "tt": "thủ tục", "hs": "hồ sơ", "ng": "người", "bh": "bao giờ", "bjo": "bao giờ",
    "ntnao": "như thế nào", "odau": "ở đâu",
}

ASKING: dict[str, int] = {
    # asking in so many words
    "cho hỏi": 3, "xin hỏi": 3, "muốn hỏi": 3, "em hỏi": 3, "tôi hỏi": 3, "mình hỏi": 3, "cháu hỏi": 3,
    "con hỏi": 3, "cần hỏi": 3, "hỏi về": 2, "hỏi giúp": 2, "hỏi chút": 2,
    "cho biết": 2, "xin hướng dẫn": 2, "hướng dẫn giúp": 2, "hướng dẫn cho": 2, "tư vấn": 2, "xin thông tin": 2,
    # what a question wants to know
    "thủ tục": 2, "bao lâu": 2, "ở đâu": 2, "chỗ nào": 2, "nơi nào": 2, "như thế nào": 2,
    "thế nào": 1, "ra sao": 2, "làm sao": 2, "cách nào": 2, "cần gì": 2, "những gì": 2, "giấy tờ gì": 2,
    "hồ sơ gì": 2, "gồm những": 2, "bao nhiêu": 2, "mấy giờ": 2, "ngày nào": 2, "khi nào": 1, "lúc nào": 1,
    "được không": 2, "hay không": 2, "có phải": 1, "có cần": 1, "có được": 1, "đăng ký": 1, "làm lại": 1,
    "cấp lại": 1, "mức hưởng": 2, "điều kiện": 1, "có mất phí": 2, "là gì": 2, "năm nào": 2, "có bắt buộc": 2,
    "xin số": 2, "lệ phí": 1, "nộp online": 1,
}

REPORTING: dict[str, int] = {
    # a demand dressed as a question
    "ai chịu trách nhiệm": 6, "bao giờ mới": 6, "khi nào mới": 6, "lúc nào mới": 6, "đến bao giờ": 6,
    "tới bao giờ": 6, "đến khi nào": 6, "tới khi nào": 6, "sao chưa": 6, "sao vẫn": 5, "sao không ai": 6,
    "vì sao": 3, "tại sao": 3, "có ai quản lý không": 6, "không ai": 2, "chẳng ai": 3, "ai quản lý": 2,
    "có ai": 2, "lẽ nào": 4, "ai cho phép": 4, "nào cũng": 3,
    # reporting and demanding
    "phản ánh": 2, "tố cáo": 4, "tố giác": 4, "khiếu nại": 4, "đề nghị": 3, "yêu cầu": 3, "kiến nghị": 3,
    "mong": 1, "bức xúc": 3, "nguy hiểm": 2, "kêu cứu": 4, "xin can thiệp": 4, "xử lý": 2,
    "xử phạt": 2, "kiểm tra": 1, "góp ý": 3, "gợi ý": 3, "nên": 1,
    # something is wrong
    "hư": 2, "hỏng": 2, "hư hỏng": 2, "xuống cấp": 2, "ổ gà": 2, "ổ voi": 2, "sụt lún": 2, "sạt lở": 2,
    "ngập": 2, "lụt": 2, "tắc": 2, "mất điện": 2, "cúp điện": 2, "mất nước": 2, "cúp nước": 2,
    "ô nhiễm": 2, "mùi hôi": 2, "hôi thối": 2, "bốc mùi": 2, "xả thải": 2, "xả rác": 2, "vứt rác": 2,
    "ồn ào": 2, "tiếng ồn": 2, "karaoke": 2, "đánh nhau": 2, "trộm": 2, "cướp": 2, "lấn chiếm": 2,
    "gãy": 2, "cây đổ": 2, "đổ ngã": 2, "nứt": 2, "bể nát": 2, "vỡ ống": 2, "bể ống": 2,
    "đèn tắt": 2, "bị tắt": 2, "tắt hết": 2, "chập chờn": 2, "không sáng": 2, "rò rỉ": 2,
    "ùn tắc": 2, "kẹt xe": 2, "gây khó dễ": 3, "hạch sách": 3, "nhũng nhiễu": 3, "vòi tiền": 3,
    "nhận tiền": 2, "tham ô": 3, "thông thầu": 3, "bỏ mặc": 2, "chậm trễ": 2, "quá hẹn": 3, "trễ hẹn": 3,
    "chưa nhận được": 2, "chưa được trả": 3, "chưa được giải quyết": 3, "không giải quyết": 3,
    "chưa có kết quả": 2, "chưa ai": 3, "không ai xử lý": 3, "thấp hơn": 1, "quá thấp": 2,
    "không đồng ý": 2, "tăng gấp": 3, "gấp ba": 2, "có vấn đề": 2, "không chịu nổi": 3, "rất vất vả": 1,
    "mù mịt": 2, "quy hoạch treo": 3, "chưa xong": 2, "quá nhiều": 1, "bị thương": 2, "tai nạn": 2, "suýt": 2,
}

_TOKEN = re.compile(r"[^\W_]+|[?.!;:,\n]", re.UNICODE)
_STOPS = frozenset("?.!;:,\n")
_OPENERS = ("có", "được", "còn", "đã")
_WH_LAST = ("gì", "sao", "nào")  # not "đâu": folded it is also "Gò Dầu"
_NEGATIONS = ("không", "chẳng", "chả")
_PARTICLES = ("ạ", "vậy", "nhỉ", "hả", "thế", "không")
_UNITS = ("ngày", "tuần", "tháng", "năm", "hôm", "bữa")
_COUNTS = ("hai", "ba", "bốn", "năm", "mấy", "nhiều", "cả")
_ORDINAL = ("lớp", "thứ", "tháng", "ngày", "khối", "số", "năm", "tuổi")
_SINCE = ("nay", "rồi", "liền", "liên", "trời", "qua", "chưa", "mà", "không")


@lru_cache(maxsize=8192)
def _folded(word: str) -> str:
    return fold(word)


def _has_marks(word: str) -> bool:
    return word != _folded(word)


def _words(text: str, abbreviations: Mapping[str, str]) -> list[str]:
    """Lower-case NFC tokens (punctuation kept as tokens), shorthand written without diacritics expanded."""
    out: list[str] = []
    for token in _TOKEN.findall(unicodedata.normalize("NFC", text).lower()):
        key = fold(token)
        expansion = abbreviations.get(key) if (not _has_marks(token) or key == "dc" and token == "đc") else None
        out.extend(expansion.split() if expansion else [token])
    return out


def _same(written: str, signal: str) -> bool:
    """A written word matches a signal word: exactly when it carries diacritics, folded when it has none."""
    return written == signal if _has_marks(written) else written == _folded(signal)


@lru_cache(maxsize=4)
def _signals(table: tuple[tuple[str, int], ...]) -> tuple[tuple[tuple[str, ...], str, int], ...]:
    """(words, first word folded, weight) of each signal, longest first."""
    return tuple((tuple(phrase.split()), _folded(phrase.split()[0]), weight)
                 for phrase, weight in sorted(table, key=lambda pw: -len(pw[0])))


def _weigh(words: list[str], table: Mapping[str, int]) -> int:
    """Sums the weights of the signals found; a signal inside a longer one found at the same place counts once."""
    taken = [False] * len(words)
    starts: dict[str, list[int]] = {}  # where each folded word is: a signal is looked for only where it may begin
    for i, word in enumerate(words):
        starts.setdefault(_folded(word), []).append(i)
    total = 0
    for phrase, first, weight in _signals(tuple(table.items())):
        n = len(phrase)
        for i in starts.get(first, ()):
            if i + n <= len(words) and not any(taken[i:i + n]) and all(_same(words[i + k], phrase[k])
                                                                       for k in range(n)):
                taken[i:i + n] = [True] * n
                total += weight
    return total


def _clause_end(words: list[str], i: int) -> bool:
    """Word i closes its clause, maybe followed by a particle ('... không ạ', '... gì vậy')."""
    j = i + 1
    while j < len(words) and words[j] not in _STOPS and any(_same(words[j], p) for p in _PARTICLES):
        j += 1
    return j == len(words) or words[j] in _STOPS


def _clause_questions(words: list[str]) -> int:
    """A clause closing on 'có/được/còn/đã ... không/chưa', or on 'gì', 'sao', 'nào' (not negated), asks
    something; so does a '?' (once, after words)."""
    score, opened, negated, asked = 0, False, False, False
    for i, word in enumerate(words):
        if word in _STOPS:
            asked = asked or word == "?"
            opened = negated = False
            continue
        ends = _clause_end(words, i)
        if ends and opened and (_same(word, "không") or _same(word, "chưa")):
            score += 2
        elif ends and not negated and any(_same(word, w) for w in _WH_LAST):  # not "không có giọt nào"
            score += 2
        opened = opened or any(_same(word, w) for w in _OPENERS)
        negated = negated or any(_same(word, w) for w in _NEGATIONS)
    worded = any(word not in _STOPS for word in words)
    return score + (1 if asked and worded else 0)


def _for_some_time(words: list[str]) -> int:
    """'3 ngày nay', 'hai tuần rồi', 'cả tháng': a problem that has lasted (one point, however often said)."""
    for i in range(len(words) - 1):
        ordinal = i > 0 and any(_same(words[i - 1], w) for w in _ORDINAL)  # "lớp 1 năm nay", "tháng 5 năm nay"
        count = (words[i].isdigit() and not ordinal) or any(_same(words[i], w) for w in _COUNTS)
        if count and any(_same(words[i + 1], unit) for unit in _UNITS):
            following = words[i + 2] if i + 2 < len(words) else ""
            if any(_same(following, w) for w in _SINCE) or any(_same(words[i], w) for w in ("cả", "nhiều")):
                return 2
    return 0


def question_scores(text: str, abbreviations: Mapping[str, str] | None = None) -> tuple[int, int]:
    """Returns (asking, reporting) weights of `text`; see the module docstring for the rule."""
    words = _words(text, {**SHORTHAND, **{k: v for k, v in (abbreviations or {}).items() if k not in SHORTHAND}})
    asking = _weigh(words, ASKING) + _clause_questions(words)
    reporting = _weigh(words, REPORTING) + _for_some_time(words)
    return asking, reporting


def is_question(text: str, abbreviations: Mapping[str, str] | None = None) -> bool:
    """True when the message asks for information rather than reports a problem (the asking side
    weighs more). Empty text, ties and messages with neither side are complaints."""
    asking, reporting = question_scores(text or "", abbreviations)
    return asking > reporting
