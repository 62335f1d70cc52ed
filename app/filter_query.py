"""The runs filter as a tiny language: tokenize, parse to a small tree, evaluate.

    tag:gpu status:failed | status:lost   -> (tag:gpu AND status:failed) OR status:lost
    -tag:old NOT status:completed         -> neither tagged old nor completed
    meta:lr>=1e-3 has:seed metric:loss<0.1 alert:critical

Terms next to each other must all match; ``OR`` (or ``|``) binds looser than
that; ``NOT`` (or a leading ``-``) negates the term after it. ``OR`` and ``NOT``
are keywords only in capitals. Double quotes make one word of text with spaces
or a ``:`` in it (``"exp:1 b"``). A word with a ``:`` whose field is not known,
an unknown status, a comparison without a value and a dangling ``OR``/``NOT``
raise ``FilterError`` with a one-line reason: a filter that can only be a typo
never silently shows zero runs.

Pure functions over what the dashboard already knows of a run (its listing, and
the last metric value and critical alerts of its table cells): no file is read.
"""

import math
from dataclasses import dataclass, field

STATUSES = ("created", "queued", "running", "paused", "completed", "failed", "terminated", "lost",
            "unreadable")
TEXT_FIELDS = ("status", "tag", "folder", "name", "host", "user", "id")
FIELDS = (*TEXT_FIELDS, "meta", "has", "metric", "alert")
ALERT_STATES = ("critical",)
OPERATORS = ("<=", ">=", "!=", "<", ">", "=")  # two-character ones first
ORDERING = ("<", "<=", ">", ">=")


class FilterError(ValueError):
    """The filter cannot be understood; the message says why, on one line."""


@dataclass(frozen=True)
class Term:
    field: str | None  # None: a plain word, looked for in name, folder and tags
    value: str = ""  # the word, or for meta/metric the key
    op: str = ""  # for meta and metric comparisons
    operand: str = ""  # what the key is compared with
    number: float | None = None  # the operand as a number, when it is one


@dataclass(frozen=True)
class Not:
    term: Term


@dataclass(frozen=True)
class Query:
    """Any of ``alternatives`` matches; each is a list of terms that must all match."""

    alternatives: tuple[tuple[Term | Not, ...], ...] = ()


@dataclass
class Subject:
    """What a filter is evaluated against: a run's listing (a RunInfo, or anything with
    its id, name, folder, tags, status and attrs) and what its table cells know."""

    info: object
    metrics: dict = field(default_factory=dict)  # metric name -> last value
    critical: list = field(default_factory=list)  # names of its critical alerts


# -- tokens ------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    text: str
    keyword: bool = False  # OR, |, NOT or a lone '-' (never when quoted)
    negated: bool = False  # the word began with a '-' outside quotes
    colon: int = -1  # where its first ':' outside quotes is: field:value


def tokenize(text: str) -> list[Token]:
    """Words split at white space and at ``|``; double quotes keep a word whole."""
    tokens: list[Token] = []
    word = _Word()
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes, word.quoted = not in_quotes, True
        elif in_quotes or not (char.isspace() or char == "|"):
            word.add(char, in_quotes)
        else:
            word.end(tokens)
            word = _Word()
            if char == "|":
                tokens.append(Token("|", keyword=True))
    if in_quotes:
        raise FilterError('a " is not closed')
    word.end(tokens)
    return tokens


class _Word:
    def __init__(self):
        self.chars: list[str] = []
        self.quoted = self.negated = False
        self.colon = -1

    def add(self, char: str, in_quotes: bool) -> None:
        if in_quotes:
            self.chars.append(char)
        elif char == "-" and not self.chars and not self.quoted and not self.negated:
            self.negated = True
        else:
            if char == ":" and self.colon < 0:
                self.colon = len(self.chars)
            self.chars.append(char)

    def end(self, tokens: list[Token]) -> None:
        text = "".join(self.chars)
        if self.negated and not text and not self.quoted:
            tokens.append(Token("-", keyword=True))  # a lone '-': NOT
        elif text in ("OR", "NOT") and not self.quoted and not self.negated:
            tokens.append(Token(text, keyword=True))
        elif text or self.quoted:
            tokens.append(Token(text, negated=self.negated, colon=self.colon))


# -- parsing -----------------------------------------------------------------
def parse(text: str) -> Query:
    """The filter as a Query; an empty filter matches every run."""
    alternatives: list[tuple] = []
    current: list = []
    negate = False
    for token in tokenize(text):
        if token.keyword and token.text in ("OR", "|"):
            if negate or not current:
                raise FilterError(f"'{token.text}' needs a term on each side")
            alternatives.append(tuple(current))
            current = []
        elif token.keyword:  # NOT or a lone '-': negates the next term (twice: undoes)
            negate = not negate
        else:
            term = parse_term(token)
            current.append(Not(term) if negate != token.negated else term)
            negate = False
    if negate:
        raise FilterError("NOT needs a term after it")
    if current:
        alternatives.append(tuple(current))
    elif alternatives:
        raise FilterError("OR needs a term on each side")
    return Query(tuple(alternatives))


def parse_term(token: Token) -> Term:
    """One word: ``field:value``, ``meta:KEY<op>VALUE``, or plain text."""
    word = token.text
    if token.colon < 0:
        return Term(None, word)
    name, value = word[: token.colon], word[token.colon + 1:]
    field_ = name.lower()
    if field_ not in FIELDS:
        raise FilterError(f"unknown field '{name}' in '{word}' (known: "
                          f"{', '.join(FIELDS)}; quote \"{word}\" to search for the text)")
    if field_ in ("meta", "metric"):
        return _comparison(field_, value, word)
    if not value:
        raise FilterError(f"'{word}' needs a value after the ':'")
    if field_ == "status" and value.lower() not in STATUSES:
        raise FilterError(f"unknown status '{value}' (one of {', '.join(STATUSES)})")
    if field_ == "alert" and value.lower() not in ALERT_STATES:
        raise FilterError(f"'{word}': alert: takes {', '.join(ALERT_STATES)}")
    return Term(field_, value)


def _comparison(field_: str, text: str, word: str) -> Term:
    """``KEY``, ``KEY=VALUE``, ``KEY>=NUMBER``... (metric: always compares)."""
    at, op = _find_operator(text)
    if op is None:
        if field_ == "metric" or not text:
            raise FilterError(f"'{word}' needs a comparison, as in {field_}:loss<0.1"
                              if field_ == "metric" else f"'{word}' needs a key")
        return Term(field_, text)
    key, operand = text[:at], text[at + len(op):]
    if not key:
        raise FilterError(f"'{word}' needs a key before '{op}'")
    if not operand:
        raise FilterError(f"'{word}' needs a value after '{op}'")
    number = as_number(operand)
    if number is None and (op in ORDERING or field_ == "metric"):
        raise FilterError(f"'{word}': '{operand}' is not a number")
    return Term(field_, key, op, operand, number)


def _find_operator(text: str) -> tuple[int, str | None]:
    """Where the first comparison operator in ``text`` is, and which it is."""
    for at in range(len(text)):
        for op in OPERATORS:
            if text.startswith(op, at):
                return at, op
    return -1, None


def as_number(value) -> float | None:
    """A number, or text that reads as one (not NaN, not a bool); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value) if not isinstance(value, int) or abs(value) < 2 ** 1023 \
            else None
    elif isinstance(value, str) and len(value) <= 100:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return None if number is None or math.isnan(number) else number


# -- evaluating --------------------------------------------------------------
def evaluate(query: Query, subject: Subject) -> bool:
    """Whether the run matches (an empty query matches every run)."""
    if not query.alternatives:
        return True
    return any(all(_holds(item, subject) for item in terms)
               for terms in query.alternatives)


def _holds(item: Term | Not, subject: Subject) -> bool:
    if isinstance(item, Not):
        return not term_matches(item.term, subject)
    return term_matches(item, subject)


def term_matches(term: Term, subject: Subject) -> bool:
    info = subject.info
    value = term.value
    value_l = value.lower()
    if term.field is None:
        return value_l in " ".join([info.name, info.folder, *info.tags]).lower()
    if term.field == "status":
        return info.status == value_l
    if term.field == "tag":
        return value in info.tags
    if term.field == "folder":
        folder = value.rstrip("/") or "/"
        return folder == "/" or info.folder == folder or \
            info.folder.startswith(folder + "/")
    if term.field == "name":
        return value_l in info.name.lower()
    if term.field == "id":
        return info.id.startswith(value_l)
    if term.field in ("host", "user"):
        return str(info.attrs.get(term.field, "")).lower() == value_l
    if term.field == "alert":
        return bool(subject.critical)
    return _keyed(term, subject)


def _keyed(term: Term, subject: Subject) -> bool:
    """has:, meta: and metric: terms: a key, maybe compared with a value."""
    if term.field == "metric":
        known = subject.metrics
    else:
        metadata = subject.info.attrs.get("metadata")
        known = metadata if isinstance(metadata, dict) else {}
    if term.value not in known:
        return False
    return not term.op or compare(known[term.value], term.op, term.operand, term.number)


def compare(value, op: str, operand: str, number: float | None) -> bool:
    """``value op operand``: as numbers when both are numbers; = and != also as text
    (case-insensitive); an ordering on a value that is not a number never matches."""
    have = as_number(value)
    if have is not None and number is not None:
        return {"<": have < number, "<=": have <= number, ">": have > number,
                ">=": have >= number, "=": have == number, "!=": have != number}[op]
    if op == "=":
        return str(value).lower() == operand.lower()
    if op == "!=":
        return str(value).lower() != operand.lower()
    return False


def folder_of(query: Query) -> str | None:
    """The folder a query keeps to (its one alternative's ``folder:`` term), if any."""
    if len(query.alternatives) != 1:
        return None
    for item in query.alternatives[0]:
        if isinstance(item, Term) and item.field == "folder":
            return item.value
    return None


def metrics_of(query: Query) -> set[str]:
    """The metric names the query compares (their values come from the table's cells)."""
    return {item.term.value if isinstance(item, Not) else item.value
            for terms in query.alternatives for item in terms
            if (item.term if isinstance(item, Not) else item).field == "metric"}


def uses_cells(query: Query) -> bool:
    """Whether the query needs what the table's cells know (metric: or alert:)."""
    return any((item.term if isinstance(item, Not) else item).field in ("metric", "alert")
               for terms in query.alternatives for item in terms)
