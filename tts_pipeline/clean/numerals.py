"""Numbers as words: the one wrapper around num2words, and the numeric normalisers
(dates, times, money, percentages, units, ranges, ordinals, decades, years, decimals).

Each normaliser is a function ``str -> str`` that rewrites only what it recognises, so they can
be applied in sequence (``normalise_numbers``) and tested alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from num2words import num2words

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTH_ABBR = {m[:3]: m for m in MONTHS} | {"Sept": "September"}
_MONTH = r"\b(?P<month>" + "|".join([*MONTHS, *(rf"{a}\.?" for a in _MONTH_ABBR)]) + r")"
_MAX_WORDED = 10**15  # beyond this, digits are read one by one
_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_DENOMINATORS = {2: ("half", "halves"), 4: ("quarter", "quarters")}


def cardinal(n: int) -> str:
    """A whole number in words.

    >>> cardinal(2048)
    'two thousand and forty-eight'
    """
    if abs(n) >= _MAX_WORDED:
        return ("minus " if n < 0 else "") + digits(str(abs(n)))
    # num2words writes "one thousand, two hundred": the comma would become a pause.
    return str(num2words(n)).replace(",", "")


def digits(text: str) -> str:
    """Digits read one by one.

    >>> digits("007")
    'zero zero seven'
    """
    return " ".join(_DIGITS[int(d)] for d in text if d.isdigit())


def ordinal_words(n: int) -> str:
    """An ordinal in words.

    >>> ordinal_words(22)
    'twenty-second'
    """
    if n >= _MAX_WORDED:
        return digits(str(n))
    return str(num2words(n, to="ordinal"))


def year_words(n: int) -> str:
    """A year as people say it.

    >>> year_words(2022), year_words(1905), year_words(2000)
    ('twenty twenty-two', 'nineteen oh five', 'two thousand')
    """
    if 1100 <= n <= 9999 and n % 100 and n // 100 % 10 and n % 100 < 10:
        # num2words says "nineteen hundred and five"; people say "nineteen oh five".
        return f"{cardinal(n // 100)} oh {cardinal(n % 100)}"
    return str(num2words(n, to="year")) if 0 < n < 10000 else cardinal(n)


def decimal_words(text: str) -> str:
    """Digits after the point are read one by one: ``3.50`` -> "three point five zero".

    >>> decimal_words("-0.25")
    'minus zero point two five'
    """
    sign = "minus " if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-+").replace(",", "").partition(".")
    spoken = cardinal(int(whole or "0"))
    return sign + (f"{spoken} point {digits(frac)}" if frac else spoken)


def number_words(text: str) -> str:
    """Any plain number token: ``1,000,000``, ``3.14``, ``-5``, ``007``.

    >>> number_words("1,000,000"), number_words("007")
    ('one million', 'zero zero seven')
    """
    bare = text.lstrip("-+").replace(",", "")
    if "." in bare:
        return decimal_words(text)
    if len(bare) > 1 and bare.startswith("0"):
        return digits(bare)
    return ("minus " if text.startswith("-") else "") + cardinal(int(bare or "0"))


def fraction_words(numerator: int, denominator: int) -> str | None:
    """``1/2`` -> "one half", ``3/4`` -> "three quarters"; None when no common name fits.

    >>> fraction_words(2, 3), fraction_words(7, 100)
    ('two thirds', None)
    """
    if not (1 <= denominator <= 10 and 0 <= numerator < 100) or denominator == 1:
        return None
    one, many = _DENOMINATORS.get(denominator, (None, None))
    if one is None:
        one = ordinal_words(denominator)
        many = one + "s"
    return f"{cardinal(numerator)} {one if numerator == 1 else many}"


# --- normalisers --------------------------------------------------------------------------

_NUM = r"\d[\d,]*(?:\.\d+)?"
_ISO_DATE = re.compile(r"\b(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
_MDY = re.compile(_MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>\d{4})\b)?")
_DMY = re.compile(
    r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r"(?:,?\s+(?P<year>\d{4}))?\b"
)
_MONTH_YEAR = re.compile(_MONTH + r",?\s+(?P<year>\d{4})\b")
_TIME = re.compile(
    r"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::[0-5]\d)?(?:\s*(?P<ap>[AaPp])\.?\s?[Mm]\.?(?!\w))?"
)
_HOUR_AMPM = re.compile(r"\b(?P<h>1[0-2]|0?[1-9])\s*(?P<ap>[AaPp])\.?\s?[Mm]\.?(?!\w)")
_MONEY = re.compile(
    r"(?P<cur>US\$|[$£€¥])\s?(?P<num>" + _NUM + r")"
    r"(?:\s?(?P<mag>thousand|million|billion|trillion|[kKmMbBT]n?)\b)?"
)
_CURRENCY = {"$": ("dollar", "cent"), "US$": ("dollar", "cent"), "£": ("pound", "penny"),
             "€": ("euro", "cent"), "¥": ("yen", "")}  # fmt: skip
_MAGNITUDES = {"k": "thousand", "m": "million", "mn": "million", "b": "billion",
               "bn": "billion", "t": "trillion"}  # fmt: skip
_PERCENT = re.compile(r"(?<![\w.])(?P<num>[-+]?" + _NUM + r")\s?%")
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_DECADE = re.compile(r"(?:\b|')(?P<num>(?:1[0-9]|20)?[0-9]0)'?s\b")
_RANGE = re.compile(
    r"(?<![\w.,])(?P<a>" + _NUM + ")\\s?(?:[\u2013\u2014]|-(?=\\d))\\s?(?P<b>" + _NUM + r")\b"
)
_TIMES = re.compile(r"\b(?P<num>" + _NUM + ")[x\u00d7](?!\\w)")
_SCIENTIFIC = re.compile(r"\b(?P<m>\d+(?:\.\d+)?)[eE](?P<e>[-+]?\d+)\b")
_SUFFIXED = re.compile(r"\b(?P<num>\d+(?:\.\d+)?)(?P<mag>[kKMBT])\b")
_VERSION = re.compile(r"\b\d+(?:\.\d+){2,}\b")
_YEAR = re.compile(r"(?<![\w.,$£€¥#-])(?P<year>1[5-9]\d\d|20\d\d)(?![\w%]|[.,]\d)")
_PLAIN_NUMBER = re.compile(r"(?:(?<![\w.])-)?\d+(?:,\d{3})*(?:\.\d+)?|\d+|(?<![\w.])\.\d+")
_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")

# symbol|singular|plural, two spaces between entries.
_UNIT_TABLE = """
    km|kilometre|kilometres  m|metre|metres  cm|centimetre|centimetres
    mm|millimetre|millimetres  nm|nanometre|nanometres  kg|kilogram|kilograms  g|gram|grams
    mg|milligram|milligrams  GB|gigabyte|gigabytes  MB|megabyte|megabytes  KB|kilobyte|kilobytes
    kB|kilobyte|kilobytes  TB|terabyte|terabytes  PB|petabyte|petabytes
    ms|millisecond|milliseconds  µs|microsecond|microseconds  ns|nanosecond|nanoseconds
    s|second|seconds  min|minute|minutes  h|hour|hours  hr|hour|hours  hrs|hour|hours
    Hz|hertz|hertz  kHz|kilohertz|kilohertz  MHz|megahertz|megahertz  GHz|gigahertz|gigahertz
    W|watt|watts  kW|kilowatt|kilowatts  MW|megawatt|megawatts  GW|gigawatt|gigawatts
    kWh|kilowatt hour|kilowatt hours  TWh|terawatt hour|terawatt hours
    mph|mile per hour|miles per hour  km/h|kilometre per hour|kilometres per hour
    °C|degree Celsius|degrees Celsius  °F|degree Fahrenheit|degrees Fahrenheit  °|degree|degrees
    lb|pound|pounds  lbs|pound|pounds  ft|foot|feet  mi|mile|miles  FLOP|flop|flops
    FLOPs|flop|flops  FLOPS|flop|flops
"""
UNITS: dict[str, tuple[str, str]] = {
    key: (one, many)
    for key, one, many in (entry.split("|") for entry in re.split(r"\s{2,}", _UNIT_TABLE.strip()))
}
# Single letters are units only after a space-separated number ("5 m", not "5m" or "5 s").
_UNIT = re.compile(
    r"(?<![\w.])(?P<num>-?"
    + _NUM
    + r")(?:\s?(?P<unit>"
    + "|".join(
        re.escape(u) for u in sorted(UNITS, key=len, reverse=True) if len(u) > 1 and u[0] != "°"
    )
    + r"|°[CF]?)|\s(?P<short>[mgshW]))(?![\w/])"
)


def _month(name: str) -> str:
    name = name.rstrip(".")
    return _MONTH_ABBR.get(name, name)


def dates(text: str) -> str:
    """ISO dates, "March 7, 2024", "9 May 2024" and "June 2023".

    >>> dates("On 2024-03-05 and March 7, 2024, then 9 May 2024 and June 2023.")
    'On March fifth, twenty twenty-four and March seventh, twenty twenty-four, then the ninth of May, twenty twenty-four and June twenty twenty-three.'
    """  # noqa: E501

    def mdy(m: re.Match[str]) -> str:
        said = f"{_month(m['month'])} {ordinal_words(int(m['day']))}"
        return f"{said}, {year_words(int(m['year']))}" if m["year"] else said

    def dmy(m: re.Match[str]) -> str:
        said = f"the {ordinal_words(int(m['day']))} of {_month(m['month'])}"
        return f"{said}, {year_words(int(m['year']))}" if m["year"] else said

    text = _ISO_DATE.sub(
        lambda m: f"{MONTHS[int(m[2]) - 1]} {ordinal_words(int(m[3]))}, {year_words(int(m[1]))}",
        text,
    )
    text = _DMY.sub(lambda m: dmy(m) if 1 <= int(m["day"]) <= 31 else m[0], text)
    text = _MDY.sub(lambda m: mdy(m) if 1 <= int(m["day"]) <= 31 else m[0], text)
    return _MONTH_YEAR.sub(lambda m: f"{_month(m['month'])} {year_words(int(m['year']))}", text)


def times(text: str) -> str:
    """Clock times, with or without a.m./p.m.

    >>> times("at 10:30, 9:05 pm, 14:00 and 3pm")
    'at ten thirty, nine oh five p.m., fourteen hundred and three p.m.'
    """

    def clock(m: re.Match[str]) -> str:
        hour, minute = int(m["h"]), int(m["m"])
        suffix = f" {m['ap'].lower()}.m." if m["ap"] else ""
        if minute == 0:
            said = cardinal(hour) + (suffix or (" hundred" if hour > 12 else " o'clock"))
            return said if not suffix else cardinal(hour) + suffix
        mins = f"oh {cardinal(minute)}" if minute < 10 else cardinal(minute)
        return f"{cardinal(hour)} {mins}{suffix}"

    text = _TIME.sub(clock, text)
    return _HOUR_AMPM.sub(lambda m: f"{cardinal(int(m['h']))} {m['ap'].lower()}.m.", text)


def money(text: str) -> str:
    """Amounts in dollars, pounds, euros and yen, with magnitudes.

    >>> money("$5.50, $1 and £1.5bn and $10k")
    'five dollars and fifty cents, one dollar and one point five billion pounds and ten thousand dollars'
    """  # noqa: E501

    def say(m: re.Match[str]) -> str:
        unit, minor = _CURRENCY[m["cur"]]
        number = m["num"].replace(",", "")
        mag = m["mag"]
        if mag:
            scale = _MAGNITUDES.get(mag.lower(), mag.lower())
            plural = unit if unit == "yen" else unit + "s"
            return f"{number_words(number)} {scale} {plural}"
        whole, _, cents = number.partition(".")
        value = int(whole or "0")
        main = f"{cardinal(value)} {unit if value == 1 or unit == 'yen' else unit + 's'}"
        if len(cents) == 2 and minor:
            pence = int(cents)
            minors = "pence" if minor == "penny" and pence != 1 else minor + "s" * (pence != 1)
            if pence:
                return (
                    f"{main} and {cardinal(pence)} {minors}"
                    if value
                    else f"{cardinal(pence)} {minors}"
                )
            return main
        return f"{decimal_words(number)} {unit}s" if cents else main

    return _MONEY.sub(say, text)


def percentages(text: str) -> str:
    """Percentages.

    >>> percentages("rose 3.5% to 40 %")
    'rose three point five percent to forty percent'
    """
    return _PERCENT.sub(lambda m: number_words(m["num"]) + " percent", text)


def units(text: str) -> str:
    """Measures: a number followed by a unit.

    >>> units("5 km, 1 kg, 30°C, 2.5GB and 3 m")
    'five kilometres, one kilogram, thirty degrees Celsius, two point five gigabytes and three metres'
    """  # noqa: E501

    def say(m: re.Match[str]) -> str:
        one, many = UNITS[m["unit"] or m["short"]]
        number = m["num"]
        return f"{number_words(number)} {one if number in ('1', '-1') else many}"

    return _UNIT.sub(say, text)


def ordinals(text: str) -> str:
    """Ordinals written with digits.

    >>> ordinals("the 1st, 22nd and 103rd")
    'the first, twenty-second and one hundred and third'
    """
    return _ORDINAL.sub(lambda m: ordinal_words(int(m[1])), text)


def decades(text: str) -> str:
    """Decades.

    >>> decades("the 1990s, the '80s and the 2000s")
    'the nineteen nineties, the eighties and the two thousands'
    """

    def say(m: re.Match[str]) -> str:
        value = int(m["num"])
        words = year_words(value) if value >= 1000 else cardinal(value)
        return words[:-1] + "ies" if words.endswith("y") else words + "s"

    return _DECADE.sub(say, text)


def ranges(text: str) -> str:
    """Number ranges with a dash: "10-20", "2020–2022" (not spaced subtraction).

    >>> ranges("pages 10-20, 2020–2022 and 3 - 4")
    'pages 10 to 20, 2020 to 2022 and 3 - 4'
    """  # noqa: RUF002
    return _RANGE.sub(lambda m: f"{m['a']} to {m['b']}", text)


def multiples(text: str) -> str:
    """Multipliers ("10x"), scientific notation and magnitude suffixes ("70B").

    >>> multiples("10x faster, 1e-5 and 70B parameters")
    'ten times faster, one times ten to the minus five and seventy billion parameters'
    """
    text = _TIMES.sub(lambda m: number_words(m["num"]) + " times", text)
    text = _SCIENTIFIC.sub(
        lambda m: f"{number_words(m['m'])} times ten to the {number_words(m['e'])}", text
    )
    return _SUFFIXED.sub(
        lambda m: f"{number_words(m['num'])} {_MAGNITUDES[m['mag'].lower()]}", text
    )


def years(text: str) -> str:
    """Four-digit numbers from 1500 to 2099 standing alone are read as years.

    >>> years("In 2022 (and 1999) but not 2,048 or 2022.5")
    'In twenty twenty-two (and nineteen ninety-nine) but not 2,048 or 2022.5'
    """
    return _YEAR.sub(lambda m: year_words(int(m["year"])), text)


def plain_numbers(text: str) -> str:
    """Every number left: versions ("1.2.3"), decimals, cardinals, leading zeros, signs.

    >>> plain_numbers("GPT4 v1.2.3 has -5, 3.14 and 1,000 of 007")
    'GPT four v one point two point three has minus five, three point one four and one thousand of zero zero seven'
    """  # noqa: E501
    # "GPT-4" and "Section B.1" are read "G P T four", "B one".
    text = re.sub(r"(?<=[A-Za-z])-(?=\d)|(?<=\b[A-Za-z])\.(?=\d)", " ", text)
    text = _LETTER_DIGIT.sub(" ", text)
    text = _VERSION.sub(lambda m: " point ".join(number_words(p) for p in m[0].split(".")), text)
    return _PLAIN_NUMBER.sub(
        lambda m: "point " + digits(m[0]) if m[0].startswith(".") else number_words(m[0]), text
    )


NORMALISERS: tuple[Callable[[str], str], ...] = (
    dates, times, ranges, money, percentages, units, ordinals, decades, multiples, years,
    plain_numbers,
)  # fmt: skip


def normalise_numbers(text: str) -> str:
    """Every numeric normaliser, in an order where earlier ones see the most context.

    >>> normalise_numbers("In 2023, 40% of 1,200 runs took 3-5 ms.")
    'In twenty twenty-three, forty percent of one thousand two hundred runs took three to five milliseconds.'
    """  # noqa: E501
    for normaliser in NORMALISERS:
        text = normaliser(text)
    return text
