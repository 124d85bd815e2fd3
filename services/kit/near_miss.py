"""Is a near candidate the same request, or a near miss? (L04's semantic cache, L05's plan reuse)

One sentence embedding cannot see that two prompts sharing most words ask different things:
swapped arguments ("100 Celsius to Fahrenheit"), an antonym ("drawbacks" for "benefits"), a
negation, a changed number or unit, another entity, language or output format, or another
action on the same object ("delete" for "list"). This compares the two prompts' structure
instead: what each says about those, read with the word lists of ``near_miss_words.yaml``.
It refuses on any difference it can see, so a paraphrase that changes one of them (a unit
spelt another way, an entity renamed) is a miss too: a miss costs one provider call, a false
hit serves a wrong answer. It also compares the question asked ("where" / "when"), how many
("all users" / "one user", "the largest moon" / "moons"), which time ("this year" / "next
year") and conditions that narrow a request ("for free", "while sleeping"). The lists cannot
name every opposite or sibling ("sparse" / "dense", "cat" / "dog"), so a content word in
place of another is refused too, unless the two are synonyms, forms of one word or one
misspelt: the lists then only have to name what may pass, and a word they lack costs a miss
rather than a wrong answer. A near miss edits a request in place; a paraphrase rewords it
(``Edit``): a word put into an unchanged request is refused, while a word in place of another,
or a qualifier, inside a request said in other words is not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache, lru_cache
from itertools import pairwise, takewhile
from pathlib import Path
from typing import Any

import yaml

from services.kit.word_forms import (
    inflections,
    name_form,
    positive,
    prefix_opposite,
    related,
    stem,
    superlative,
)

WORDS = Path(__file__).with_name("near_miss_words.yaml")
NONE = "-"  # the role of a word no marker introduces
SYMMETRIC = "&"  # the role of a word joined by "and", "or", "vs"...
_TOKEN = re.compile(
    # A word may hold digits after its first letter: names such as s3, k8s, ec2, ipv6; and an
    # identifier its underscores: orders_staging is not "orders" and "staging".
    r"\d+(?:,\d{3})*(?:\.\d+)?(?:st|nd|rd|th)?|[^\W\d_][^\W_]*(?:_[^\W_]+)*(?:\+\+|#)?"
    r"|[%$€£°&/]"
    r"|[.?!:;,¿¡]"
)
_APOSTROPHE = "\u2019"  # typographic apostrophe, read as "'"
_ENTITY = re.compile(r"(?<![\w'\u2019])[A-Z][\w+#]*(?:[-.][\w+#]+)*")
_SENTENCE_END = ".?!:;¿¡"
_ACRONYM_PLURAL = re.compile(r"[A-Z0-9]{2,}s")
SUBSTITUTED_WORDS = 2  # a word replaced by at most this many: "rarest" / "most common"
# A prompt written anew, not edited: fewer of its words in the other's order than this share,
# and at least this many differing words besides a substitution. A near miss edits a request
# in place ("a senior engineer" / "a junior engineer"); a paraphrase rewords around it.
REWORDED_SHARE = 0.7
REWORDED_WORDS = 3
_OPEN_QUESTION_WORDS = frozenset({"what", "which"})  # may ask for anything
# Not "I", not "B-tree", not "B+" (a blood type, a grade: a name of its own).
_LETTER_NAME = re.compile(r"\b([a-z]{2,}) ([A-HJ-Z])\b(?![-'+#])")
# The same in lower case, where the letter is no word ("set b", "vitamin d"; not "u", "r"),
# or is "a" where no noun follows it ("set a is a subset of set b").
_SMALL_LETTER_NAME = re.compile(
    r"\b([A-Za-z]{2,}) ([b-hj-qstv-z]\b(?![-'+#])"
    r"|a\b(?=\s*(?:$|[?.,;:!]|(?:is|are|and|or|to|from|with|than|in)\b)))",
    re.IGNORECASE,
)
# Words before a letter that is a variable, not part of a name: "solve for x", "what is x".
_BEFORE_A_VARIABLE = frozenset(
    "for is of to in on at by and or if as the was be are with from than not vs plus times "
    "minus over let where".split()
)
_DOTTED = re.compile(r"(?<=[A-Za-z])\.(?=[A-Za-z])")
# "turn the firewall off" is "turn off the firewall" (so that the phrase list reads it).
_PARTICLE = re.compile(r"\b(turn|switch)\s+((?:[\w-]+\s+){1,3}?)(on|off)\b", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w/.~])(?:~|\.{1,2})?(?:/[\w.-]+)+/?")  # /data/in, ~/notes, ./run.sh
_DECADE = re.compile(r"\b(1\d{2}0|20\d0)'?s\b|'(\d0)s\b")  # the 2010s, the 1990's, the '90s
_DATE_PATTERN = re.compile(r"\b(?:[dmyhs]{1,4}[-/.:]){2,}[dmyhs]{1,4}\b", re.IGNORECASE)
_NAME = re.compile(r"[\w+#]+(?:[-.][\w+#]+)*")
READINGS_KEPT = 4096  # readings of recent prompts (a cached question is compared again and again)
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
        " fifteen sixteen seventeen eighteen nineteen".split()
    )
} | {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety"
                                     .split(), start=2)}  # fmt: skip
_NUMBER_STEMS = frozenset(stem(w) for w in _NUMBER_WORDS)
_FUTURE = frozenset({"will", "gonna", "shall"})
# Words that come with a qualifier put into a request: "the code I wrote myself", "a day hike
# if it rains".
_ALONGSIDE = frozenset({"i", "you", "we", "they", "he", "she", "if", "unless", "whenever"})
_PAST = frozenset({"did", "was", "were", "had"})
# Words in the place of a verb that ask for nothing done: "what is ...", "do I need ...".
_NOT_VERBS = _ALONGSIDE | _OPEN_QUESTION_WORDS | {"is", "are", "be", "do", "does", "have", "has"}
# Words after which a verb is what the prompt asks for: "create a branch", "how do I create",
# "how to create", "please create" (or a verb that opens a clause).
_REQUEST_BEFORE = frozenset({"to", "i", "we", "you", "please", "and", "or", "can", "could",
                             "should", "would", "do", "does"})  # fmt: skip
_COMPARED_BY = frozenset({"from", "to", "with"})  # "differs from", "compared to / with"
_MULTIPLIERS = {"hundred": 100, "thousand": 1_000, "million": 10**6, "billion": 10**9}


@dataclass(frozen=True)
class Refusal:
    """Why a candidate is not the same question: the kind of near miss, and what differs."""

    kind: str  # negation, antonym, action, number, unit, format, language, entity, order,
    # question, quantity, time, condition, qualifier, substitution
    reason: str


@dataclass(frozen=True)
class Words:
    """The word lists, keyed by stem."""

    phrases: dict[str, list[tuple[list[str], str]]]  # first word -> (words, replacement)
    negations: frozenset[str]
    antonyms: dict[str, set[tuple[int, int]]]  # stem -> {(pair index, side)}
    actions: dict[str, str]  # stem -> action
    harmful: frozenset[str]  # actions that destroy, take away, stop or undo
    telling: frozenset[str]  # stems of verbs that ask to be told ("explain")
    units: dict[str, str]  # stem -> unit
    formats: dict[str, str]  # stem -> format
    format_verbs: dict[str, str]  # stem of a verb that asks for a format -> the format
    languages: frozenset[str]
    endonyms: dict[str, str]  # a language's own name for itself -> its name in the list
    function_words: dict[str, frozenset[str]]
    role_markers: dict[str, str]  # word -> role it marks ("into" marks what "to" does)
    symmetric: frozenset[str]
    comparing: frozenset[str]  # after these, "from" / "to" / "with" join without order too
    determiners: frozenset[str]
    stopwords: frozenset[str]
    when_units: frozenset[str]  # units "when" asks for without naming them
    duration_units: frozenset[str]  # units "how long" asks for without naming them
    time_references: dict[str, str]  # "this"/"next"/"last" -> which one it means
    time_nouns: frozenset[str]  # stems of what they point at: year, week, release...
    conditions: frozenset[str]  # stems of words that narrow a request: free, offline...
    owned: frozenset[str]  # stems another check compares (units, formats...): not substitutions
    name_aliases: dict[str, frozenset[str]]  # name (stem) -> words that name it too
    synonyms: dict[str, frozenset[str]]  # stem -> the stems that mean the same
    asks: dict[str, str]  # question word -> what it asks for (who/whom/whose -> person)
    quantifiers: dict[str, str]  # word -> how many it means (all/every/each -> all)
    plural_quantities: frozenset[str]  # "several", "multiple": more than one, however many
    qualifier_markers: frozenset[str]  # words that open a phrase narrowing a request

    @classmethod
    def load(cls, path: Path = WORDS) -> Words:
        data: dict[str, Any] = yaml.safe_load(path.read_text())
        antonyms: dict[str, set[tuple[int, int]]] = {}
        for index, sides in enumerate(data["antonyms"]):
            for side, words in enumerate(sides):
                for word in words:
                    antonyms.setdefault(stem(word), set()).add((index, side))
        same_role = {"into": "to", "onto": "on", "towards": "to", "toward": "to"}
        for names, of in (("harmful_actions", "actions"), ("format_verbs", "formats")):
            unknown = set(data[names]) - set(data[of])
            if unknown:
                raise ValueError(f"{path}: {names} names no entry of {of}: {sorted(unknown)}")
        return cls(
            phrases=_by_first_word(data["phrases"]),
            negations=frozenset(data["negations"]),
            antonyms=antonyms,
            actions=_by_stem(data["actions"]),
            harmful=frozenset(data["harmful_actions"]),
            telling=frozenset(stem(w) for w in data["telling_verbs"]),
            units=_by_stem(data["units"]),
            formats=_by_stem(data["formats"]),
            format_verbs=_by_stem(data["format_verbs"]),
            languages=frozenset(data["languages"]),
            endonyms=_by_word(data["language_endonyms"]),
            function_words={k: frozenset(v) for k, v in data["function_words"].items()},
            role_markers={w: same_role.get(w, w) for w in data["role_markers"]},
            symmetric=frozenset(data["symmetric_joiners"]),
            comparing=frozenset(data["comparing_words"]),
            determiners=frozenset(data["determiners"]),
            stopwords=frozenset(data["stopwords"]),
            when_units=frozenset(data["when_units"]),
            duration_units=frozenset(data["duration_units"]),
            time_references=_by_word(data["time_references"]),
            time_nouns=frozenset(stem(w) for w in data["time_nouns"]),
            conditions=frozenset(stem(w) for w in data["conditions"]),
            owned=frozenset(
                stem(w)
                for group in ("units", "formats")
                for words in data[group].values()
                for w in words
            )
            | {stem(w) for w in [*data["languages"], *data["phrases"].values()]}
            # A word a phrase stands for that is also an opposite ("least expensive": cheap)
            # is an ordinary word: in place of another ("cheapest" / "fastest") it differs.
            - {stem(w) for pair in data["antonyms"] for side in pair for w in side},
            name_aliases={
                stem(k): frozenset(v) | {stem(x) for x in v}
                for k, v in data["name_aliases"].items()
            },
            synonyms=_synonyms(data),
            asks=_by_word(data["question_words"]),
            quantifiers=_by_word(data["quantifiers"]),
            plural_quantities=frozenset(data["plural_quantities"]),
            qualifier_markers=frozenset(data["qualifier_markers"]),
        )


def _by_first_word(phrases: dict[str, str]) -> dict[str, list[tuple[list[str], str]]]:
    index: dict[str, list[tuple[list[str], str]]] = {}
    for phrase, replacement in phrases.items():
        words = phrase.split()
        index.setdefault(words[0], []).append((words, replacement))
    return index


def _synonyms(data: dict[str, Any]) -> dict[str, frozenset[str]]:
    """Words that may stand for each other: the synonym groups, and the words of one action,
    unit or format (which their own checks already treat as one)."""
    groups = [*data["synonyms"], *data["actions"].values(), *data["units"].values(),
              *data["formats"].values()]  # fmt: skip
    for name, aliases in data["name_aliases"].items():
        groups += [[name, alias] for alias in aliases]
    same: dict[str, set[str]] = {}
    for group in groups:
        # Every inflection's stem: the crude stemmer gives "cause" and "causes" two.
        stems = {stem(form) for word in group for form in inflections(word)}
        for s in stems:
            same.setdefault(s, set()).update(stems)
    return {s: frozenset(others) for s, others in same.items()}


def _by_word(groups: dict[str, list[str]]) -> dict[str, str]:
    return {word: name for name, words in groups.items() for word in words}


def _by_stem(groups: dict[str, list[str]]) -> dict[str, str]:
    return {stem(word): name for name, words in groups.items() for word in words}


@dataclass(frozen=True)
class Reading:
    """What one prompt says, in the terms the comparison needs."""

    words: list[str]  # lower-case word tokens, phrases joined
    tokens: list[str]  # the same with punctuation, in order
    stems: set[str]
    numbers: list[float]
    negations: int
    actions: set[str]
    requested: set[str]  # the actions it asks for ("create ..."), not named in passing
    # Every word in that place, whatever it does: "how do I redirect ...", "make a table".
    request_words: set[str]
    units: list[str]  # in order of appearance
    measures: dict[float, str]  # the unit right after a number written in digits ("250 kg")
    formats: set[str]
    formats_asked: set[str]  # formats asked for by a verb ("summarize")
    languages: set[str]
    written_in: str  # the language the prompt is written in ("" when unsure)
    entities: set[str]
    names: set[str]  # every word that could be a name, whatever its case ("s3", "postgres")
    times: set[str]  # which time it points at: now, next, last ("this year", "next sprint")
    tense: str  # "past", "future" or "" (the present, or both, or neither said)
    conditions: set[str]
    # The noun after each superlative, and whether it is plural ("the largest moons").
    superlatives: dict[str, bool]
    content: list[tuple[str, str]]  # (stem, role) in order
    # Content words and other words that can stand between two arguments (verbs such as
    # "thank" are on the stop list for politeness), in order, with their roles.
    sequence: list[tuple[str, str]]


class NearMissCheck:
    def __init__(self, words: Words | None = None) -> None:
        self._w = words or default_words()
        self.read = lru_cache(maxsize=READINGS_KEPT)(self._read)
        self._compared: tuple[tuple[int, int], Difference] | None = None
        # What the question words ask for, as nouns: "the reason" restates "why".
        self._asked_nouns = {stem(what.split()[-1]) for what in self._w.asks.values()}

    def _read(self, text: str) -> Reading:
        """What ``text`` says (``read`` is this, with the recent readings kept)."""
        w = self._w
        raw = _tokens(text)
        words = _join_phrases([t for t in raw if not _is_punctuation(t)], w.phrases)
        # Two words written as one are the same word too: "time zone" / "timezone".
        stems = {stem(t) for t in words} | set(words) | {stem(x + y) for x, y in pairwise(words)}
        units = [w.units[s] for s in (_unit_stem(t) for t in words) if s in w.units]
        tokens = _join_phrases(raw, w.phrases)
        sequence = self._sequence(tokens)
        request_words = {
            stem(t) for t in _request_words(tokens)
            if t not in _NOT_VERBS and t not in w.asks and t not in w.determiners
            and not superlative(t)
        }  # fmt: skip
        return Reading(
            words=words,
            tokens=tokens,
            stems=stems | _entities(text),
            numbers=_numbers(words),
            negations=sum(t in w.negations for t in words),
            actions={
                w.actions[s]
                for s in (stem(t) for t in words if not superlative(t))
                if s in w.actions
            },
            requested={w.actions[s] for s in request_words if s in w.actions},
            request_words=request_words,
            units=units,
            measures={
                value: w.units[_unit_stem(after)]
                for word, after in pairwise(words)
                if (value := _number(word)) is not None and _unit_stem(after) in w.units
            },
            formats={w.formats[s] for s in (stem(t) for t in words) if s in w.formats},
            formats_asked={
                w.format_verbs[s] for s in (stem(t) for t in words) if s in w.format_verbs
            },
            languages={t for t in words if t in w.languages}
            | {w.endonyms[t] for t in words if t in w.endonyms},
            written_in=self._written_in(text, raw),
            entities=_entities(text, skip_sentence_starts=True),
            names=_names(text),
            tense=_tense(words),
            times={
                w.time_references[x]
                for x, y in pairwise(words)
                if x in w.time_references and stem(y) in w.time_nouns
            },
            conditions={s for s in (stem(t) for t in words) if s in w.conditions},
            superlatives=_superlatives(words),
            content=[(s, role) for s, role, is_content in sequence if is_content],
            sequence=[(s, role) for s, role, _ in sequence],
        )

    def compare(self, cached: str | Reading, asked: str | Reading, *,
                skip: Collection[str] = ()) -> Refusal | None:  # fmt: skip
        """None when nothing says these two prompts ask different things (``skip``: kinds
        of difference the caller judges itself)."""
        a = cached if isinstance(cached, Reading) else self.read(cached)
        b = asked if isinstance(asked, Reading) else self.read(asked)
        self._compared = None  # ids of readings freed since may be reused
        checks = {"negation": self._negation, "action": self._action, "antonym": self._antonym,
                  "number": self._number, "unit": self._unit, "format": self._format,
                  "language": self._language, "entity": self._entity, "order": self._order,
                  "question": self._question, "quantity": self._quantity,
                  "time": self._time, "condition": self._condition,
                  "qualifier": self._qualifier, "substitution": self._substitution}  # fmt: skip
        for kind, check in checks.items():
            refusal = None if kind in skip else check(a, b)
            if refusal is not None:
                return refusal
        return None

    # -- the checks, each a kind of near miss -----------------------------------------------

    @staticmethod
    def _negation(a: Reading, b: Reading) -> Refusal | None:
        if a.negations != b.negations:
            return Refusal("negation", f"negations differ ({a.negations} vs {b.negations})")
        return None

    def _antonym(self, a: Reading, b: Reading) -> Refusal | None:
        only_a = {stem(t) for t in a.words} - b.stems
        only_b = {stem(t) for t in b.words} - a.stems
        for x in only_a:
            for y in only_b:
                if self._opposite(x, y):
                    return Refusal("antonym", f"'{x}' vs '{y}'")
        return None

    def _opposite(self, x: str, y: str) -> bool:
        for x_form in {x, positive(x)}:
            for index, side in self._w.antonyms.get(x_form, ()):
                if {(index, 1 - side)} & {*self._w.antonyms.get(y, ()),
                                          *self._w.antonyms.get(positive(y), ())}:  # fmt: skip
                    return True
        return prefix_opposite(x, y)

    def _action(self, a: Reading, b: Reading) -> Refusal | None:
        # An action on one side only, and not one that harms, is how the question is worded
        # when it is named in passing ("which river flows / runs through Budapest", "what
        # exercises help build stronger knees") or the other side asks for something in its
        # place, in a verb no list knows ("make a pivot table", "redirect stderr" / "send
        # stderr"; not "write the script" / "write the script and run it").
        # "Create a namespace" asks for one, and "what is a namespace" does not. The other
        # checks still compare the rest.
        bare, acting = (a, b) if not a.actions else (b, a)
        if (not bare.actions and not acting.actions & self._w.harmful
                and (not acting.requested
                     or bare.request_words - self._w.telling - acting.stems)):  # fmt: skip
            return None
        if a.actions != b.actions:
            return Refusal("action", f"actions differ ({_set(a.actions)} vs {_set(b.actions)})")
        return None

    @staticmethod
    def _number(a: Reading, b: Reading) -> Refusal | None:
        if sorted(a.numbers) != sorted(b.numbers):
            return Refusal("number", f"numbers differ ({_nums(a.numbers)} vs {_nums(b.numbers)})")
        if a.numbers != b.numbers:
            return Refusal("order", f"numbers in another order ({_nums(a.numbers)} vs "
                                    f"{_nums(b.numbers)})")  # fmt: skip
        return None

    def _unit(self, a: Reading, b: Reading) -> Refusal | None:
        if set(a.units) != set(b.units):
            if self._when(a, b) or self._when(b, a):
                return None
            return Refusal("unit", f"units differ ({_set(a.units)} vs {_set(b.units)})")
        if sorted(a.units) != sorted(b.units):  # "monthly ... per year" / "... per month"
            return Refusal("unit", f"units named another number of times "
                                   f"({', '.join(a.units)} vs {', '.join(b.units)})")  # fmt: skip
        measured = {n: (u, b.measures[n]) for n, u in a.measures.items() if n in b.measures}
        for n, (x, y) in measured.items():  # "convert 250 lb to kg" / "250 kg in pounds"
            if x != y:
                return Refusal("order", f"{n:g} counts {x} vs {y}")
        if _distinct(a.units) != _distinct(b.units):  # 50 miles in km, 50 km in miles
            return Refusal("order", f"units in another order ({', '.join(_distinct(a.units))}"
                                    f" vs {', '.join(_distinct(b.units))})")  # fmt: skip
        return None

    @staticmethod
    def _format(a: Reading, b: Reading) -> Refusal | None:
        # A format one prompt names and the other asks for by a verb is the same format.
        if a.formats - b.formats - b.formats_asked or b.formats - a.formats - a.formats_asked:
            return Refusal("format", f"formats differ ({_set(a.formats)} vs {_set(b.formats)})")
        return None

    @staticmethod
    def _language(a: Reading, b: Reading) -> Refusal | None:
        if a.languages != b.languages:
            return Refusal(
                "language", f"languages differ ({_set(a.languages)} vs {_set(b.languages)})"
            )
        if a.written_in and b.written_in and a.written_in != b.written_in:
            return Refusal("language", f"written in {a.written_in} vs {b.written_in}")
        return None

    def _when(self, a: Reading, b: Reading) -> bool:
        """``a`` names the time unit that ``b`` asks for with "when" ("in what year" / "when")
        or "how long" ("how many minutes" / "how long")."""
        if a.numbers:
            return False
        if "when" in b.words and "when" not in a.words:
            units = self._w.when_units
        elif _how_long(b.words) and not _how_long(a.words):
            units = self._w.duration_units
        else:
            return False
        extra = set(a.units) - set(b.units)
        return bool(extra) and extra <= units and set(b.units) <= set(a.units)

    def _entity(self, a: Reading, b: Reading) -> Refusal | None:
        only_a, only_b = self._unnamed(a.entities, b), self._unnamed(b.entities, a)
        if only_a or only_b:
            return Refusal("entity", f"names differ ({_set(only_a)} vs {_set(only_b)})")
        return None

    def _order(self, a: Reading, b: Reading) -> Refusal | None:
        role_a, role_b = _first_roles(a.content), _first_roles(b.content)
        shared = [s for s in role_a if s in role_b]
        for i, x in enumerate(shared):
            for y in shared[i + 1 :]:
                traded = role_a[x] == role_b[y] and role_a[y] == role_b[x]
                roles = {role_a[x], role_a[y]}
                # A word and its modifier: "an item that arrived damaged" / "a damaged item".
                together = _next_to(a, x, y) or _next_to(b, x, y)
                if traded and len(roles) == 2 and roles - {NONE, SYMMETRIC} and not together:
                    return Refusal("order", f"'{x}' and '{y}' trade places")
        refusal = _direction(a, b, role_a, role_b, shared)
        if refusal is not None:
            return refusal
        # Subject and object swapped around the same verb: "did Brutus betray Caesar". In a
        # request said in other words, only two words that take each other's very place:
        # a clause moved to the front moves others too ("what's the boiling point of water
        # at sea level" / "at sea level, at what temperature does water boil").
        at_a, at_b = _positions(a.sequence), _positions(b.sequence)
        pivots = [s for s in at_a if s in at_b]
        rank_a = {s: r for r, s in enumerate(sorted(pivots, key=at_a.__getitem__))}
        rank_b = {s: r for r, s in enumerate(sorted(pivots, key=at_b.__getitem__))}
        for x in shared:
            for y in shared:
                if not (at_a[x] < at_a[y] and at_b[y] < at_b[x]):
                    continue
                exchanged = (rank_a[x], rank_a[y]) == (rank_b[y], rank_b[x])
                if not exchanged and self._difference(a, b).edit.reworded:
                    continue
                for z in pivots:
                    if at_a[x] < at_a[z] < at_a[y] and at_b[y] < at_b[z] < at_b[x]:
                        return Refusal("order", f"'{x}' and '{y}' trade places around '{z}'")
        return None

    def _question(self, a: Reading, b: Reading) -> Refusal | None:
        """ "Where" / "when was X born": both ask a pointed question, not the same one. A
        prompt that asks "what" or "which" may still ask the same ("What is X's origin?" /
        "Where is X from?"); only the first question word is the question ("how do I know
        when ..." asks how)."""
        asks_a, asks_b = self._first_question(a), self._first_question(b)
        if asks_a and asks_b and asks_a != asks_b:
            return Refusal("question", f"asks {asks_a} vs {asks_b}")
        return None

    def _first_question(self, reading: Reading) -> str:
        for word in reading.words:
            if word in self._w.asks:
                return self._w.asks[word]
            if word in _OPEN_QUESTION_WORDS:
                return ""
        return ""

    def _quantity(self, a: Reading, b: Reading) -> Refusal | None:
        """ "all users" / "one user": both say how many, not the same."""
        many_a, many_b = self._asked(a, self._w.quantifiers), self._asked(b, self._w.quantifiers)
        if many_a and many_b and many_a != many_b:
            return Refusal("quantity", f"{_set(many_a)} vs {_set(many_b)}")
        for noun, plural in a.superlatives.items():  # "the largest moon" / "... moons"
            if b.superlatives.get(noun, plural) != plural:
                return Refusal("quantity", f"one or several: '{noun}'")
        # "the size of every table" / "... of the largest table"
        for x, y, many in ((a, b, many_b), (b, a, many_a)):
            for noun, plural in x.superlatives.items():
                if not plural and noun not in y.superlatives and "all" in many:
                    return Refusal("quantity", f"one or all: '{noun}'")
        return None

    @staticmethod
    def _time(a: Reading, b: Reading) -> Refusal | None:
        """ "this year" / "next year": both say which, not the same; and "how has X changed" /
        "how will X change": one asks of the past, the other of the future."""
        if a.times and b.times and a.times != b.times:
            return Refusal("time", f"{_set(a.times)} vs {_set(b.times)}")
        if {a.tense, b.tense} == {"past", "future"}:
            return Refusal("time", f"asks of the {a.tense} vs of the {b.tense}")
        return None

    @staticmethod
    def _condition(a: Reading, b: Reading) -> Refusal | None:
        """ "learn Spanish online" / "... online for free": one narrows the request (in any
        form of the word: "local" / "locally")."""
        only_a = {c for c in a.conditions - b.conditions
                  if not any(related(c, y) for y in b.stems)}  # fmt: skip
        only_b = {c for c in b.conditions - a.conditions
                  if not any(related(c, y) for y in a.stems)}  # fmt: skip
        if only_a or only_b:
            return Refusal("condition", f"{_set(only_a)} vs {_set(only_b)}")
        return None

    def _qualifier(self, a: Reading, b: Reading) -> Refusal | None:
        """ "a software engineer" / "a senior software engineer", "run a flask app" / "... in
        production": words only one prompt has that narrow what both ask about. Words added
        elsewhere pass ("is drinking coffee bad" / "is coffee bad"): a paraphrase often adds a
        frame around the question, rarely a modifier inside it."""
        difference = self._difference(a, b)
        only_a, only_b, edit = set(difference.only_a), set(difference.only_b), difference.edit
        if (
            bool(only_a) != bool(only_b)
            and not set(edit.besides) - self._w.determiners - _ALONGSIDE
        ):
            # Words put into the same request, or in place of a determiner, and nothing else
            # changed: "bake salmon" / "bake frozen salmon", "center an image" / "... vertically",
            # "remove all images" / "remove unused images". A verb in -ing frames the question
            # instead ("is drinking coffee bad" / "is coffee bad"); "teh" is "the" misspelt.
            added = [
                t for t in (a.words if only_a else b.words)
                if stem(t) in only_a | only_b and sorted(t) not in map(sorted, edit.besides)
            ]  # fmt: skip
            if added and not all(t.endswith("ing") for t in added):
                return Refusal("qualifier", f"only one says '{' '.join(added)}'")
        if edit.reworded:
            return None  # "the most recent commit" restating "the last commit" in other words
        for x, y, x_added, y_added in ((a, b, only_a, only_b), (b, a, only_b, only_a)):
            found = self._narrowing(x, y, x_added, y_added)
            if found:
                return Refusal("qualifier", f"only one says '{found}'")
        return None

    def _narrowing(self, x: Reading, y: Reading, x_added: set[str], y_added: set[str]) -> str:
        """What in ``x`` narrows the request ``y`` makes too, or "": a modifier before a word
        both have ("the long-term side effects"), or a phrase of words only ``x`` has after a
        qualifier marker ("on android", "as a beginner"). ``x_added``, ``y_added``: the content
        words each has and the other lacks."""
        w = self._w
        # Numbers have their own check; "the reason" / "the way" restate "why" / "how".
        added = x_added - _NUMBER_STEMS - self._asked_nouns
        if not added:
            return ""
        content = {s for s, _ in x.content}
        y_quantities = self._asked(y, w.quantifiers)
        # Words only ``y`` has in the same place are a substitution ("a good watermelon" /
        # "a ripe watermelon", "as a US citizen" / "as an American"): that check's to judge.
        y_modified = {
            stem(u) for t, u in pairwise(y.tokens)
            if stem(t) not in x.stems and t not in w.determiners and not _is_punctuation(t)
        }  # fmt: skip
        tokens = x.tokens
        for i, token in enumerate(tokens):
            if stem(token) not in added or w.quantifiers.get(token, "-") in y_quantities:
                continue
            end = i
            while end < len(tokens) and stem(tokens[end]) in added:
                end += 1
            if end == len(tokens) or stem(tokens[end]) not in content - added - y_modified:
                continue
            # Inside a noun phrase ("a rusty pan"), or a quantity ("several commits"): not a
            # verb framing the question ("is drinking coffee bad", "what makes cats ...").
            if (i and tokens[i - 1] in w.determiners) or token in w.plural_quantities:
                return " ".join(tokens[i : end + 1])
        for i, token in enumerate(tokens):
            if token not in w.qualifier_markers:
                continue
            phrase = []
            for after in tokens[i + 1 :]:
                if _is_punctuation(after) or after in w.qualifier_markers:
                    break
                phrase.append(after)
            said = [stem(t) for t in phrase if stem(t) in content]
            if said and all(s in added for s in said) and not self._own_phrase(y, token, y_added):
                return " ".join([token, *phrase])
        return ""

    def _own_phrase(self, y: Reading, marker: str, y_added: set[str]) -> bool:
        """Whether ``y`` has a phrase of its own after the same marker word."""
        markers = self._w.qualifier_markers
        for i, token in enumerate(y.tokens):
            if token == marker:
                after = takewhile(lambda t: not _is_punctuation(t) and t not in markers,
                                  y.tokens[i + 1 :])  # fmt: skip
                if any(stem(t) in y_added for t in after):
                    return True
        return False

    @staticmethod
    def _asked(reading: Reading, words: dict[str, str]) -> set[str]:
        return {words[t] for t in reading.words if t in words}

    def _substitution(self, a: Reading, b: Reading) -> Refusal | None:
        """One content word in place of another that is not known to mean the same: an
        opposite, a sibling ("cat" / "dog") or another action the lists above do not know.
        A paraphrase that swaps in an unknown synonym is refused too (a miss, not a wrong
        answer); one that only adds or drops words is not."""
        difference = self._difference(a, b)
        only_a, only_b = difference.only_a, difference.only_b
        if only_a and only_b and min(len(only_a), len(only_b)) == 1 \
                and max(len(only_a), len(only_b)) <= SUBSTITUTED_WORDS \
                and not difference.edit.reworded:  # fmt: skip
            return Refusal("substitution", f"{_quoted_words(only_a)} in place of "
                                           f"{_quoted_words(only_b)}")  # fmt: skip
        return None

    def _difference(self, a: Reading, b: Reading) -> Difference:
        """The words each prompt has that the other lacks in any form, and the edit from one
        to the other: read by three checks, found once per comparison."""
        if self._compared is None or self._compared[0] != (id(a), id(b)):
            only_a, only_b = self._unmatched(a, b), self._unmatched(b, a)
            edit = Edit.of(a, b, set(only_a), set(only_b))
            self._compared = ((id(a), id(b)), Difference(only_a, only_b, edit))
        return self._compared[1]

    def _unmatched(self, a: Reading, b: Reading) -> list[str]:
        """``a``'s content words that ``b`` has in no form: not as such, a synonym, a word
        derived from the same root ("invent" / "inventor") or a one-letter misspelling."""
        same, w = self._w.synonyms, self._w
        forms = b.stems | {positive(y) for y in b.stems}  # "larger" is "large" too
        return [
            x for x in dict.fromkeys(s for s, _ in a.content)
            if x not in w.owned and not {x, positive(x)} & forms
            and not ((same.get(x, frozenset()) | same.get(positive(x), frozenset())) & forms)
            and not any(related(x, y) for y in forms)
            and not any(name_form(x, y) for y in b.names)
        ]  # fmt: skip

    def _unnamed(self, names: set[str], other: Reading) -> set[str]:
        """The names that ``other`` does not mention, under that name or another, in any case
        ("S3" / "s3"), or by a form of it ("Postgres" / "PostgreSQL", "Brazil" / "Brazilian")."""
        aliases, same = self._w.name_aliases, self._w.synonyms
        return {
            n for n in names - other.stems - other.names
            if not (aliases.get(n, frozenset()) | same.get(n, frozenset())) & other.stems
            and not any(name_form(n, m) for m in other.names)
        }  # fmt: skip

    # -- reading helpers ---------------------------------------------------------------------

    def _written_in(self, text: str, tokens: list[str]) -> str:
        letters = [c for c in text if c.isalpha()]
        foreign = [c for c in letters if not unicodedata.name(c, "LATIN").startswith("LATIN")]
        if letters and len(foreign) * 2 > len(letters):
            return unicodedata.name(foreign[0], "?").split()[0].lower()
        votes = {lang: sum(t in words for t in tokens)
                 for lang, words in self._w.function_words.items()}  # fmt: skip
        ranked = sorted(votes.items(), key=lambda kv: kv[1], reverse=True)
        (best, count), (_, second) = ranked[0], ranked[1]
        return best if count >= 2 and count > second else ""

    def _sequence(self, tokens: list[str]) -> list[tuple[str, str, bool]]:
        """Words in order that are not function words: (stem, the role marker that introduces
        it, whether it is a content word)."""
        w = self._w
        sequence: list[tuple[str, str, bool]] = []
        role = NONE
        for before, token in pairwise(["", *tokens]):
            if _is_punctuation(token):
                role = NONE
            elif token in w.symmetric or (before in w.comparing and token in _COMPARED_BY):
                role = SYMMETRIC
            elif token in w.role_markers:
                role = w.role_markers[token]
            elif token in w.determiners or _number(token) is not None:
                continue  # "to the 100 users": the marker still introduces "users"
            elif token in w.negations:
                role = NONE
            else:
                word = stem(token)
                # A word said before tells nothing apart: "baking soda for baking powder"; the
                # marker introduces the word after it as well.
                repeated = any(word == seen for seen, _, _ in sequence)
                sequence.append((word, role, token not in w.stopwords))
                if not repeated or token in w.stopwords:
                    role = NONE
        return sequence


@dataclass(frozen=True)
class Difference:
    """What two prompts do not share: content words in no form in the other, and the edit."""

    only_a: list[str]
    only_b: list[str]
    edit: Edit


@dataclass(frozen=True)
class Edit:
    """How one prompt's words become the other's (stems, in order): what share of them stays
    in place, and the differing words that neither prompt's own content words explain."""

    kept: float  # 2 * matched words / all words
    besides: list[str]  # differing words outside ``only_a`` and ``only_b``

    @classmethod
    def of(cls, a: Reading, b: Reading, only_a: set[str], only_b: set[str]) -> Edit:
        x, y = [stem(t) for t in a.words], [stem(t) for t in b.words]
        if not x or not y:
            return cls(0.0, [])
        matcher = SequenceMatcher(None, x, y, autojunk=False)
        kept = sum(block.size for block in matcher.get_matching_blocks())
        edits = [op for op in matcher.get_opcodes() if op[0] != "equal"]
        besides = [s for _, i1, i2, _, _ in edits for s in x[i1:i2] if s not in only_a] + [
            s for _, _, _, j1, j2 in edits for s in y[j1:j2] if s not in only_b
        ]
        return cls(2 * kept / (len(x) + len(y)), besides)

    @property
    def reworded(self) -> bool:
        """Said in words of its own rather than edited: "What is the population of Canada?" /
        "How many people live in Canada?" (not "How do I read a file?" / "... write a file?")."""
        return self.kept < REWORDED_SHARE and len(self.besides) >= REWORDED_WORDS


def _request_words(tokens: list[str]) -> list[str]:
    """Words in the place of the verb a request is for: opening a clause, or after "to", "I",
    "please", "can" (a word in -ing is never one: "why does adding salt ...")."""
    return [
        token for before, token in pairwise(["", *tokens])
        if (before == "" or _is_punctuation(before) or before in _REQUEST_BEFORE)
        and not _is_punctuation(token) and not token.endswith("ing")
    ]  # fmt: skip


def _tense(words: list[str]) -> str:
    """Past or future, when a prompt's auxiliaries say one and not the other."""
    future = any(w in _FUTURE for w in words) or any(
        x == "going" and y == "to" for x, y in pairwise(words)
    )
    past = any(w in _PAST for w in words)
    # "how has remote work changed": a perfect's participle may come words after "has".
    perfect = [i for i, w in enumerate(words) if w in ("has", "have")]
    if perfect and not past:
        past = any(w.endswith(("ed", "en")) and len(w) > 4 for w in words[perfect[0] + 1 :])
    return "future" if future and not past else "past" if past and not future else ""


def _next_to(reading: Reading, x: str, y: str) -> bool:
    """Whether the words of stems ``x`` and ``y`` stand side by side."""
    return any({stem(t), stem(u)} == {x, y} for t, u in pairwise(reading.words))


def _direction(a: Reading, b: Reading, role_a: dict[str, str], role_b: dict[str, str],
               shared: list[str]) -> Refusal | None:  # fmt: skip
    """Where something goes, against where it comes from."""
    for x in shared:  # "copy a file to a container" / "... from a container"
        if {role_a[x], role_b[x]} == {"to", "from"}:
            return Refusal("order", f"'{x}' is where one goes, where the other comes from")
    # Said in other words: "convert a list into a string" / "turning a string into a list":
    # each names the other's destination before its own.
    for role in ("to", "from"):
        (end_a, before_a), (end_b, before_b) = (_last_phrase(x.sequence, role) for x in (a, b))
        if end_a.isdisjoint(end_b) and end_a & before_b and end_b & before_a:
            return Refusal("order", f"{_set(end_a)} and {_set(end_b)} trade places")
    return None


def _last_phrase(sequence: list[tuple[str, str]], role: str) -> tuple[set[str], set[str]]:
    """The words of the last phrase that a role marker opens ("into a single string"), and
    the words before it."""
    for i in reversed(range(len(sequence))):
        if sequence[i][1] == role:
            rest = takewhile(lambda item: item[1] == NONE, sequence[i + 1 : i + 4])
            return {sequence[i][0], *(word for word, _ in rest)}, {w for w, _ in sequence[:i]}
    return set(), set()


def _first_roles(content: list[tuple[str, str]]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for word, role in content:
        roles.setdefault(word, role)
    return roles


def _positions(content: list[tuple[str, str]]) -> dict[str, float]:
    """Where each content stem first appears; two words joined by "and"/"or" share a place."""
    at: dict[str, float] = {}
    for i, (word, role) in enumerate(content):
        place = at[content[i - 1][0]] if role == SYMMETRIC and i else float(i)
        at.setdefault(word, place)
    return at


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _tokens(text: str) -> list[str]:
    text = text.replace(_APOSTROPHE, "'")
    # A path is one word: "/data/in" to "/data/out" are two names, not words joined by "/".
    text = _PATH.sub(lambda m: " " + re.sub(r"\W", "", m[0]) + " ", text)
    # A decade is a span of years, not the year it starts with: "the 2010s" is not "2010".
    text = _DECADE.sub(lambda m: f"{m[1] or m[2]} decade", text)
    text = _PARTICLE.sub(r"\1 \3 \2", text)
    text = re.sub(r"\bw/o\b", "without", text, flags=re.IGNORECASE)
    text = re.sub(r"\bw/(?=\s)", "with", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(can|won)'t\b", lambda m: ("can" if m[1].lower() == "can" else "will")
                  + " not", text, flags=re.IGNORECASE)  # fmt: skip
    text = re.sub(r"n't\b", " not", text, flags=re.IGNORECASE)
    text = re.sub(r"'(s|m|re|ve|ll|d)\b", " ", text, flags=re.IGNORECASE)  # it's, I'm
    # A capital letter naming a thing is part of its name: "column A", "plan B" (so that
    # "column A from column B" / "column B from column A" are two names trading places).
    text = _LETTER_NAME.sub(r"\1\2", text)
    text = _SMALL_LETTER_NAME.sub(
        lambda m: m[0] if m[1].lower() in _BEFORE_A_VARIABLE else m[1] + m[2], text
    )
    # A date pattern is one word, its parts in order: "dd/mm/yyyy" is not "yyyy-mm-dd".
    text = _DATE_PATTERN.sub(lambda m: re.sub(r"\W", "", m[0]), text)
    # A dotted name is one word: "www.example.com" is not "example.com", nor two sentences.
    text = _DOTTED.sub("", text)
    return _TOKEN.findall(text.lower())


def _is_punctuation(token: str) -> bool:
    return len(token) == 1 and token in ".?!:;,¿¡"


def _join_phrases(tokens: list[str], phrases: dict[str, list[tuple[list[str], str]]]
                  ) -> list[str]:  # fmt: skip
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for words, replacement in phrases.get(tokens[i], ()):
            if tokens[i : i + len(words)] == words:
                out.append(replacement)
                i += len(words)
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _number(token: str) -> float | None:
    if token[0].isdigit():
        return float(re.sub(r"(st|nd|rd|th)$", "", token).replace(",", ""))
    return None


def _numbers(tokens: list[str]) -> list[float]:
    """Numbers in order, digits or words ("three" = 3; "one" alone is often just "a")."""
    found: list[float] = []
    run: list[str] = []

    def flush() -> None:
        if run and run != ["one"]:
            total, current = 0.0, 0.0
            for word in run:
                if word in _MULTIPLIERS:
                    current = max(current, 1.0) * _MULTIPLIERS[word]
                    if _MULTIPLIERS[word] >= 1000:
                        total, current = total + current, 0.0
                else:
                    current += _NUMBER_WORDS[word]
            found.append(total + current)
        run.clear()

    for token in tokens:
        value = _number(token)
        if value is not None:
            flush()
            found.append(value)
        elif token in _NUMBER_WORDS or (token in _MULTIPLIERS and run):
            run.append(token)
        else:
            flush()
    flush()
    return found


def _unit_stem(token: str) -> str:
    return {"$": "dollar", "€": "euro", "£": "pound", "%": "percent", "°": "degree"}.get(
        token, stem(token)
    )


def _entities(text: str, *, skip_sentence_starts: bool = False) -> set[str]:
    """Capitalised names ("Node.js" -> nodej), optionally not those that start a sentence."""
    found: set[str] = set()
    for match in _ENTITY.finditer(text):
        before = text[: match.start()].rstrip(" \"'“(")
        if skip_sentence_starts and (not before or before[-1] in _SENTENCE_END):
            continue
        name = match[0]
        if len(name) == 1:  # "I", "Plan B"
            continue
        if _ACRONYM_PLURAL.fullmatch(name):
            name = name[:-1]  # PDFs, APIs
        found.add(stem(name.lower().replace("-", "").replace(".", "")))
    return found


def _quoted_words(words: list[str]) -> str:
    return ", ".join(f"'{w}'" for w in words)


def _names(text: str) -> set[str]:
    raw = {m.replace("-", "").replace(".", "") for m in _NAME.findall(text.lower())}
    return raw | {stem(n) for n in raw}


def _how_long(words: list[str]) -> bool:
    return "howlong" in words  # the phrase "how long"


def _superlatives(words: list[str]) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for x, y in pairwise(words):
        if superlative(x) or x in ("best", "worst"):
            found[stem(y)] = y != stem(y) and y.endswith("s") and not y.endswith("ss")
    return found


def _set(values: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(set(values))) + "}"


def _nums(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values) or "none"


@cache
def default_words() -> Words:
    return Words.load()
