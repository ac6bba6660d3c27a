"""Replace personal data and secrets in conversation text with typed placeholders.

The placeholders are [URL], [EMAIL], [IP], [SSN], [CARD], [PHONE], [SECRET], [IBAN],
[ADDRESS] and [NAME]. Every detector is a pattern plus a check (Luhn, mod-97, a key name,
a capitalised word in a name-like context), so that UUIDs, hashes, versions, order
numbers, times and code stay as they are.
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import pkgutil
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

PLACEHOLDER_TYPES = (
    "URL",
    "EMAIL",
    "IP",
    "SSN",
    "CARD",
    "PHONE",
    "SECRET",
    "IBAN",
    "ADDRESS",
    "NAME",
)

Replacer = Callable[[re.Match[str]], str]


def _word_set(words: str) -> frozenset[str]:
    """Return the whitespace-separated words of a block of text as a set."""
    return frozenset(words.split())


# URLs

# Words in a query parameter name that mark the URL as carrying a secret.
_SECRET_PARAMETER_WORDS = frozenset(
    {
        "token",
        "key",
        "apikey",
        "secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "sig",
        "signature",
        "auth",
        "credential",
        "credentials",
        "jwt",
        "sessionid",
    }
)
# Compounds written as one lowercase word, which the word split cannot separate.
_SECRET_PARAMETER_NAMES = frozenset(
    {"accesstoken", "authtoken", "authkey", "secretkey", "privatekey", "clientsecret"}
)

# Candidate URLs: any scheme followed by "://". Quotes, angle brackets and backticks end
# a URL because they delimit it in code, Markdown and JSON.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"'`]+")
_URL_TRAILING_PUNCTUATION = ".,;:!?)]}"
# Symbols, modifiers, format characters (the zero-width joiner) and combining marks (the
# emoji variation selector): an emoji right after a URL or a secret is no part of it.
_TRAILING_SYMBOL_CATEGORIES = frozenset({"So", "Sk", "Cf", "Mn"})
_PARAMETER_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


# Emails, IP addresses, SSNs, cards and phones

# "(?!\d+x\.)" keeps image names such as icon@2x.png.
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+@(?!\d+x\.)"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![\w-])"
)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
# A four-part version string ("version 1.0.0.0") looks like an address, so a number
# right after the word version, ver or release, or after a "v", is kept. The word must
# start there, so that "server 203.0.113.7" is still an address.
_VERSION_BEFORE = re.compile(r"(?i)\b(?:version|ver\.?|release|v)\W{0,3}$")

# Hex groups joined by colons, optionally ending in an IPv4 address. The callback checks
# the candidate with ipaddress, which rejects times such as 12:30:45 and MAC addresses.
_IPV6 = re.compile(
    r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
    rf"(?:(?<=:){_OCTET}(?:\.{_OCTET}){{3}})?(?:%[\w.-]+)?(?![\w:]|\.\d)"
)
_IPV6_GROUP = re.compile(r"[0-9A-Fa-f]+")

_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")

# 13 to 19 digits that start with a group of four, with single spaces or dashes between
# digits. A leading group of four keeps runs of small space-separated numbers out. The
# callback then requires a card network's prefix and a valid Luhn check digit, because
# about one in ten random numbers passes the Luhn check alone.
_CARD = re.compile(r"(?<![\w.+-])\d{4}(?:[ -]?\d){9,15}(?![\w-]|\.\d)")

# "+" and a country code, then groups of digits. The callback checks the digit count.
_PHONE_INTERNATIONAL = re.compile(
    r"(?<![\w+)])\+\d{1,3}"
    r"(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w-]|\.\d)"
)
# North American numbers need separators, so ten-digit IDs and epoch seconds stay.
_PHONE_US = re.compile(
    r"(?<![\w.+-])(?<!\d )(?:1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])"
    r"\d{3}[ .-]\d{4}(?![\w-]|[ .-]?\d)"
)
_PHONE_MIN_DIGITS = 8
_PHONE_MAX_DIGITS = 15  # E.164 allows at most 15 digits including the country code.


# Secrets

_PRIVATE_KEY_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----")
# A block cut off before its END line still loses its header fields, its base64 lines
# and the blank lines between them.
_PRIVATE_KEY_BODY = re.compile(
    r"(?:\r?\n[ \t]*(?:[A-Za-z0-9+/=]{16,}|(?:Proc-Type|DEK-Info|Comment|Version):[^\n]*"
    r"|(?=\r?\n)))*"
)
_PRIVATE_KEY_MAX_CHARS = 20_000

# Tokens whose prefix names the issuer. The lengths are minimums because issuers have
# lengthened their tokens over time.
_PREFIXED_SECRET = re.compile(
    r"(?<![\w-])(?:"
    r"sk-ant-[A-Za-z0-9_-]{20,}"  # Anthropic
    r"|sk-[A-Za-z0-9_-]{20,}"  # OpenAI and services that copy its key format
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe secret and restricted keys
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"  # AWS access key IDs
    r"|gh[pousr]_[A-Za-z0-9]{36,}"  # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{22,}"
    r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|xox[baprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|xapp-\d-[A-Za-z0-9-]{10,}"
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|npm_[A-Za-z0-9]{36,}"
    r"|pypi-[A-Za-z0-9_-]{50,}"
    r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"  # SendGrid
    r"|eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"  # JWT
    r")(?![\w-])"
)

# `key = value`, `"key": "value"`, `key: Type = value` and `key => value`. The callback
# decides from the key's words whether it names a secret. The value is a quoted string
# (with an optional Python prefix such as f) or one unquoted word.
_QUOTED_VALUE = r"[rRbBfFuU]{0,2}(?:\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`[^`\n]*`)"
_QUOTED = re.compile(_QUOTED_VALUE)
# A value never starts with = or :, which belong to an operator such as ::= or ==.
_UNQUOTED_VALUE = r"(?![=:])[^\s\"'`,;()\[\]{}<>]+"
_AUTH_SCHEMES = r"(?i:bearer|basic|token|digest|jwt|apikey)"
_SECRET_ASSIGNMENT = re.compile(
    r"(?<![\w.-])(?P<quote>[\"']?)(?P<key>[A-Za-z_][\w.-]{0,60}?)(?P=quote)\]?"
    r"(?:[ \t]*:[ \t]*[A-Za-z_][\w.]*(?:\[[^\]\n]*\])?"
    r"(?:[ \t]*\|[ \t]*[A-Za-z_]\w*)*[ \t]*="
    r"|[ \t]*(?:===?|=>|:=|[:=]))[ \t]*"
    rf"(?:(?P<scheme>{_AUTH_SCHEMES})[ \t]+)?"
    rf"(?P<value>{_QUOTED_VALUE}|{_UNQUOTED_VALUE})"
)
# Command-line flags: --password hunter2, --api-key=abc.
_SECRET_FLAG = re.compile(
    rf"(?<![\w-])--(?P<key>[A-Za-z][\w-]{{0,40}})(?:=|[ \t]+)(?P<value>{_QUOTED_VALUE}"
    r"|(?!-)[^\s\"'`,;()\[\]{}<>]+)"
)
_SECRET_XML_ELEMENT = re.compile(
    r"<(?P<key>[A-Za-z_][\w.-]{0,60})>(?P<value>[^<\n]{1,200})</(?P=key)>"
)
# "my password is hunter2". As in prose, only a quoted value or one with a digit or
# symbol counts.
_SECRET_IN_PROSE = re.compile(
    r"(?i:\b(?:password|passcode|passphrase|pin(?: code)?|api key|secret key"
    r"|access token)"
    r"[ \t]+(?:is|was)[ \t]+)"
    rf"(?P<value>{_QUOTED_VALUE}|{_UNQUOTED_VALUE})"
)
# Every prefix that _PREFIXED_SECRET requires, and a part of every secret key name, prose
# phrase and bearer token ("pin" for "PIN code", "key" for "api_key").
_SECRET_PREFIXES = (
    "sk-",
    "sk_",
    "rk_",
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xox",
    "xapp-",
    "AIza",
    "hf_",
    "npm_",
    "pypi-",
    "SG.",
    "eyJ",
)
_SECRET_KEY_HINTS = (
    "pass",
    "pwd",
    "pin",
    "secret",
    "token",
    "key",
    "auth",
    "cred",
    "session",
    "bearer",
)
_BEARER = re.compile(r"(?<![\w-])(?i:bearer)[ \t]+(?P<value>[A-Za-z0-9._~+/-]{16,}=*)")

_SECRET_KEY_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "passcode",
        "secret",
        "token",
        "apikey",
        "credential",
        "credentials",
        "cred",
        "creds",
        "authorization",
        "sessionid",
        "privatekey",
        "secretkey",
        "accesstoken",
        "authtoken",
        "clientsecret",
    }
)
# "key" alone names dictionary keys, sort keys and primary keys, so it counts only with
# one of these words before it.
_SECRET_KEY_QUALIFIERS = frozenset(
    {
        "api",
        "access",
        "secret",
        "private",
        "auth",
        "signing",
        "encryption",
        "master",
        "client",
        "app",
        "license",
        "licence",
        "subscription",
        "service",
        "account",
        "session",
        "ssh",
        "deploy",
        "admin",
        "root",
        "shared",
        "consumer",
    }
)
# A key that ends in one of these describes a secret (token_type, password_length) and
# does not contain one.
_SECRET_KEY_METADATA_WORDS = _word_set(
    """
    type types name names count counts length len size limit limits max min id ids url uri
    endpoint path file dir env var field prefix expiry expires expiration ttl timeout
    lifetime header format kind policy hint label required enabled disabled input strength
    reset visible regex pattern provider manager store budget usage rate index position
    encoding location source method mode version scope scopes audience issuer algorithm
    alg cost price age changed updated created at date time rounds iterations rules
    validator validation error errors message placeholder style color class text
    authentication
    """
)
# Unquoted values that are code or types, not secrets.
_NON_SECRET_VALUES = _word_set(
    """
    none null nil true false undefined str string int integer bytes bool boolean number
    any object optional required char text secretstr void self this new await bearer
    basic digest jwt yes no on off enabled disabled
    """
)
_AUTH_SCHEME_PREFIX = re.compile(rf"{_AUTH_SCHEMES}[ \t]+")
# $VAR, ${VAR}, {{ var }}, <your key>, %(name)s, %VAR% and this module's placeholders.
_TEMPLATE_VALUE = re.compile(r"\$\{?\w+\}?|\{\{.*\}\}|<[^>]*>|%\(?\w+\)?s?|%\w+%|\[[A-Z]+\]")
_MASKED_VALUE = re.compile(r"[*xX.•]+")
_DOTTED_IDENTIFIER = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


# IBANs

# Total IBAN length per country, from the SWIFT IBAN registry as compiled in
# python-stdnum's stdnum/iban.dat.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip
# Country code, check digits and up to 30 more characters, written compact or in groups
# separated by single spaces. The callback cuts the candidate to the country's length.
_IBAN = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![\w-])")


# Postal addresses

_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way"
    r"|Place|Pl|Terrace|Ter|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Trail|Trl"
    r"|Crescent|Close|Grove|Gardens|Row|Walk|Loop|Plaza|Alley|Mews|Expressway|Pike"
    r"|Turnpike|Crossing)"
)
_DIRECTION = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)"
_LATIN_UPPER = "A-ZÀ-ÖØ-Þ"
_STREET_WORD = rf"(?:[{_LATIN_UPPER}][\w'’.-]*|\d{{1,3}}(?:st|nd|rd|th))"
# Outward code (area letters, district digits), a space, inward code. The letters follow
# the Royal Mail rules: no Q, V or X first, no I, J or Z second, and no C, I, K, M, O or V
# in the inward code.
_UK_POSTCODE = r"[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2}"
# A state or province code, then an optional US ZIP code or Canadian postal code.
_STATE_AND_CODE = r"[A-Z]{2}(?:[ \t]+(?:\d{5}(?:-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d))?"
# An optional flat, a house number, street words and a suffix, then an optional unit and
# an optional city that is followed by a state (with an optional ZIP or Canadian postal
# code) or by a UK postcode. Street words must be capitalised, so that "3 different ways"
# and code stay.
_STREET_ADDRESS = re.compile(
    r"(?:(?<![\w-])(?:Flat|Apt|Apartment|Unit|Suite)\.?[ \t]+[\w-]{1,5},?[ \t]+)?"
    r"(?<![\w.,/-])\d{1,6}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?[ \t]+"
    rf"(?:{_DIRECTION}\.?[ \t]+)?"
    rf"(?:{_STREET_WORD}[ \t]+){{1,4}}?{_STREET_SUFFIX}\b\.?"
    rf"(?:[ \t]+{_DIRECTION}\b\.?)?"
    r"(?:,?[ \t]*(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|Room|Rm|#)\.?[ \t]*#?"
    r"[\w-]{1,6}\b)?"
    rf"(?:,?[ \t]*\n?[ \t]*[{_LATIN_UPPER}][\w'’.-]*"
    rf"(?:[ \t]+[{_LATIN_UPPER}][\w'’.-]*){{0,3}}"
    rf",?[ \t]+(?:{_UK_POSTCODE}|{_STATE_AND_CODE})(?![\w-]))?"
)
_PO_BOX = re.compile(r"(?<![\w.])(?i:P\.?[ \t]?O\.?[ \t]+Box|Post[ \t]+Office[ \t]+Box)[ \t]+\d+\b")
_UK_POSTCODE_ALONE = re.compile(rf"(?<![\w-]){_UK_POSTCODE}(?![\w-])")


# Person names

# A name word: letters, with inner hyphens or apostrophes (Jean-Luc, O'Brien). A
# possessive "'s" is left outside the name.
_NAME_TOKEN = r"[^\W\d_]+(?:['’-](?!s\b)[^\W\d_]+)*"
# An initial ("L.") is tried first, because the token alone would take its letter.
_NAME_WORD = re.compile(rf"[^\W\d_]\.(?!\w)|{_NAME_TOKEN}")
_NAME_GAP = re.compile(r"[ \t]+")
# "I'm", "We'll" and "Don't" end like contractions, unlike O'Brien and D'Angelo.
_CONTRACTION = re.compile(r"['’](?:m|ll|ve|d|re|t)$")
_NON_SPACE = re.compile(r"\S+")
_NAME_MAX_WORDS = 4
_NAME_PARTICLES = _word_set(
    "van von de der den del della di da du la le dos das do bin ibn al el ter ten"
)
# Text after a name that lets a greeting, sign-off or self-introduction count without the
# name library: punctuation, an emoji, a line break or the end of the text.
_NAME_FOLLOWER = re.compile(r"[ \t]*(?:[^\w\s]|\r?\n|\Z)")
_INTRODUCTION_FOLLOWER = re.compile(
    r"[ \t]*(?:[^\w\s]|\r?\n|\Z)"
    r"|[ \t]+(?:from|and|here|speaking|writing|calling|with|at|of)\b"
)
_THIS_IS_FOLLOWER = re.compile(r"[ \t]*,|[ \t]+(?:from|here|speaking|writing|calling|again)\b")

# Capitalised words that are never taken as names: function words, greetings, group and
# role words ("Dear Hiring Manager"), states ("I am Happy"), nationalities, days, months
# that are not also names, and products that people greet or mention.
_NOT_NAMES = _word_set(
    """
    a about above after again against all also always am among an and another any anyone
    anything are around as at away back be because been before behind being below best
    between both but by can cannot could did do does doing done down during each either
    else even ever every everybody everyone everything few first for from further had has
    have having he her here hers herself him himself his how however i if in inside into
    is it its itself just last least less let lets like many me more most much must my
    myself near need neither never next no nobody none nor not nothing now of off often ok
    okay on once one only onto or other others our ours out over own per please quite
    rather really same she should since so some someone something sometimes soon still
    such than that the their theirs them then there these they this those though through
    thus to together too toward towards under unless until up upon us very via was we
    well were what whatever when where whether which while who whom whose why with within
    without would yes yet you your yours yourself maybe perhaps actually anyway btw fyi
    ps note nb re fwd subject cc bcc sent date attached attachment question questions
    answer quick urgent important update help hint tip step steps example examples
    hi hello hey dear greetings howdy hiya yo thanks thank thx ty regards cheers
    sincerely cordially respectfully warmly love morning afternoon evening night day
    welcome sorry pardon congrats congratulations apologies goodbye bye
    all everyone everybody team teams folks guys gals friends friend colleagues colleague
    sir sirs madam maam ma'am mate mates buddy pal bro dude man men woman women ladies
    gentlemen gents world there people community members member customer customers client
    clients support staff hiring manager managers recruiter recruiters committee board
    admissions officer officers editor editors reviewer reviewers reader readers professor
    teacher teachers coach doctor doc nurse landlord tenant neighbor neighbour neighbors
    neighbours mom mum mommy mummy dad daddy mother father parents grandma grandpa granny
    grandmother grandfather aunt uncle son daughter brother sister sis wife husband
    partner boss honey babe baby darling sweetheart dearest beloved human user users
    assistant bot chatbot model sensei god lord jesus allah department office hr
    trainer instructor director president senator governor mayor judge captain chief
    detective agent inspector sergeant commander principal coordinator administrator
    admin moderator author authors owner seller buyer queen prince princess majesty
    highness santa
    mr mrs ms mx dr prof miss
    happy glad sure ready able unable new home done fine good great better worse tired
    sick ill busy bored hungry thirsty stuck lost confused curious excited nervous anxious
    worried scared afraid stressed grateful thankful interested trying looking working
    going getting using learning writing building planning thinking wondering hoping
    studying running based located responsible retired unemployed married single divorced
    pregnant vegan vegetarian beginner student developer engineer programmer designer
    writer lawyer alone already almost currently
    american canadian mexican brazilian argentinian chilean colombian peruvian british
    english scottish welsh irish french german dutch belgian swiss austrian italian
    spanish portuguese greek turkish polish czech slovak hungarian romanian bulgarian
    serbian croatian ukrainian russian swedish norwegian danish finnish icelandic estonian
    latvian lithuanian israeli jewish arab arabic persian iranian iraqi syrian lebanese
    egyptian moroccan algerian tunisian nigerian ghanaian kenyan ethiopian somali african
    indian pakistani bangladeshi nepali chinese japanese korean vietnamese thai filipino
    filipina indonesian malaysian singaporean australian asian european latino latina
    hispanic black white muslim catholic protestant hindu buddhist sikh atheist agnostic
    monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday
    tonight january february march july september october november december
    claude chatgpt gpt gemini bard copilot siri alexa cortana bing llama mistral openai
    anthropic google microsoft apple amazon meta facebook twitter linkedin github gitlab
    python java javascript typescript perl php swift kotlin scala golang linux windows
    ubuntu debian android ios mac macos excel powerpoint outlook sql postgres mysql docker
    kubernetes react angular vue node django flask pandas numpy jupyter notion slack zoom
    discord reddit youtube wikipedia chrome firefox safari markdown html css json yaml
    name names firstname lastname fullname yourname recipient sender placeholder
    email phone address url secret card iban ssn diary
    yeah yep yup nope oh ah uh um hmm wow lol haha omg ugh oops okay
    """
)
# Words that are also common first names. They count as names only in a context that
# marks a name on its own (a title, "my name is", a greeting followed by punctuation),
# never in the weaker contexts that rely on the name library.
_NAME_LIKE_WORDS = _word_set(
    """
    will may june april august grace bill mark hope faith joy rose summer autumn dawn page
    art sunny general major grant don jack frank sue pat rob bob ray guy chase drew gene
    earl lane miles sterling cliff dale glen rich price brown green young king baker cook
    hunter carter mason parker fisher walker christian ruby amber crystal iris lily daisy
    heather holly ivy jasmine olive pearl violet destiny melody patience prudence charity
    harmony trinity justice liberty sky river storm rain forest reed brook stone bishop
    dean chance victor max penny sandy rusty misty red
    """
)

# Contexts where a capitalised word is a name without further checks.
_TITLE = re.compile(r"(?<![\w.])(?:Mr|Mrs|Ms|Mx|Dr|Prof|Professor|Miss|Sir|Dame|Madam)\.?[ \t]+")
_INTRODUCTION = re.compile(
    r"(?<![\w'’])(?i:my[ \t]+name[ \t]+is|my[ \t]+name['’]s|name['’]s"
    r"|i[ \t]+am[ \t]+called|i['’]m[ \t]+called|call[ \t]+me|i[ \t]+go[ \t]+by"
    r"|they[ \t]+call[ \t]+me)"
    r"[ \t]*,?[ \t]+"
)
_RELATION = re.compile(
    r"(?<![\w'’])(?i:my|our|his|her|their)[ \t]+(?i:wife|husband|partner|boyfriend"
    r"|girlfriend|fiancé|fiance|fiancée|fiancee|son|daughter|brother|sister|mother|father"
    r"|mom|mum|dad|grandmother|grandfather|grandson|granddaughter|aunt|uncle|cousin|niece"
    r"|nephew|friend|colleague|coworker|co-worker|boss|manager|supervisor|employee"
    r"|assistant|neighbor|neighbour|roommate|flatmate|landlord|tenant|client|customer"
    r"|patient|student|teacher|tutor|doctor|therapist|lawyer|coach|classmate|teammate)"
    r"[ \t]*,?[ \t]+"
)
_FIELD_LABEL = re.compile(
    r"(?<![\w])(?:Name|NAME|Full [Nn]ame|First [Nn]ame|Last [Nn]ame|Surname|Contact|Attn"
    r"|Attention|From|To|Cc|Signed|Author|Patient|Applicant|Candidate|Employee|Student"
    r"|Client|Customer|Recipient|Sender)[ \t]*:[ \t]*"
)
# Contexts where a name counts when punctuation follows it, or when the name library
# lists its first word.
_GREETING = re.compile(
    r"(?<![\w'’-])(?i:hi|hello|hey|dear|hiya|howdy|greetings"
    r"|good[ \t]+(?:morning|afternoon|evening|day))[ \t]*,?[ \t]+"
)
# Sign-offs start a line or follow the end of a sentence. The name comes after a comma
# or on one of the next two lines, except after thanks and cheers, which need neither.
_SIGN_OFF = re.compile(
    r"(?:(?<![^\n])|(?<=[.!?][ \t]))[ \t]*(?:"
    r"(?i:(?:best|kind|warm|warmest|many)[ \t]+(?:regards|wishes)|regards|best|sincerely"
    r"|yours[ \t]+(?:sincerely|truly|faithfully)|respectfully|cordially|warmly|love"
    r"|with[ \t]+love|take[ \t]+care|all[ \t]+the[ \t]+best|talk[ \t]+soon|signed)"
    r"[ \t]*(?:[,!.][ \t]*(?:\r?\n[ \t]*){0,2}|(?:\r?\n[ \t]*){1,2})"
    r"|(?i:thanks(?:[ \t]+again)?|thank[ \t]+you(?:[ \t]+again)?|many[ \t]+thanks|cheers)"
    r"[ \t]*(?:[,!.][ \t]*(?:\r?\n[ \t]*){0,2}|(?:\r?\n[ \t]*){1,2}|[ \t]+))"
)
_I_AM = re.compile(r"(?<![\w'’])(?i:i[ \t]+am|i['’]m)[ \t]+")
_THIS_IS = re.compile(r"(?<![\w'’])(?i:this[ \t]+is|it[ \t]+is|it['’]s)[ \t]+")
# Display name before an email that was already replaced: "Jane Doe" <[EMAIL]>.
_QUOTED_DISPLAY_NAME = re.compile(
    r"(?P<name>\"[^\"\n]{1,80}\"|'[^'\n]{1,80}')[ \t]*(?=<\[EMAIL\]>)"
)
_DISPLAY_NAME = re.compile(
    rf"(?<![\w'’\[-])(?P<name>(?:{_NAME_TOKEN}|[^\W\d_]\.)"
    rf"(?:[ \t]+(?:{_NAME_TOKEN}|[^\W\d_]\.)){{0,4}})[ \t]*(?=<\[EMAIL\]>)"
)
# Two capitalised words in a row, for the name library's first-name and surname check.
# The first word must not start with an ASCII lowercase letter, which skips most words
# before the slower Unicode check.
_WORD_PAIR = re.compile(
    rf"(?<![\w'’\[-])(?![a-z])(?P<first>{_NAME_TOKEN})"
    rf"(?=[ \t]+(?:[^\W\d_]\.[ \t]+)?(?![a-z])(?P<last>{_NAME_TOKEN})(?![\w'’-]))"
)

# URL helpers


def _parameter_is_secret(name: str) -> bool:
    words = [word.lower() for word in _PARAMETER_WORD.findall(name)]
    if any(word in _SECRET_PARAMETER_WORDS for word in words):
        return True
    return "".join(words) in _SECRET_PARAMETER_NAMES


def _url_has_secret(url: str) -> bool:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # urlsplit raises ValueError for unbalanced IPv6 brackets.
        return False
    if password is not None:
        return True
    for component in (parts.query, parts.fragment):
        if "=" not in component:
            continue
        for name, _value in parse_qsl(component, keep_blank_values=True):
            if _parameter_is_secret(name):
                return True
    return False


# Number checks


def _has_card_prefix(digits: str) -> bool:
    """Return whether the digits start with a payment card network's issuer prefix.

    The prefixes cover Visa, Mastercard, American Express, Discover, JCB, Diners Club,
    UnionPay and Maestro.
    """
    if digits[0] in "456":
        return True
    if digits[0] == "3":
        return digits[1] in "0456789"
    return digits[0] == "2" and 2221 <= int(digits[:4]) <= 2720


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = int(character)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _iban_valid(iban: str) -> bool:
    """Check the ISO 13616 mod-97 checksum of a compact, uppercase IBAN."""
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(character, 36)) for character in rearranged)
    return int(number) % 97 == 1


# Replacers for URLs, emails, IP addresses, SSNs, cards and phones


def _trim_end(text: str, punctuation: str) -> str:
    """Strip trailing punctuation and emoji, which end a sentence rather than a value."""
    end = len(text)
    while end > 0 and (
        text[end - 1] in punctuation
        or unicodedata.category(text[end - 1]) in _TRAILING_SYMBOL_CATEGORIES
    ):
        end -= 1
    return text[:end]


def _replace_url(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        trimmed = _trim_end(url, _URL_TRAILING_PUNCTUATION)
        if not _url_has_secret(trimmed):
            return url
        counts["URL"] += 1
        return "[URL]" + url[len(trimmed) :]

    return replace


def _replace_email(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        address = match.group(0)
        # "git@host" is an SSH remote in code, not a person's address.
        if address.startswith("git@"):
            return address
        counts["EMAIL"] += 1
        return "[EMAIL]"

    return replace


def _replace_ip(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if _VERSION_BEFORE.search(match.string, max(0, match.start() - 12), match.start()):
            return text
        address = ipaddress.IPv4Address(text)
        # Loopback, 0.0.0.0 and netmasks are common in code and identify no machine.
        if address.is_loopback or address.is_unspecified or text.startswith("255."):
            return text
        counts["IP"] += 1
        return "[IP]"

    return replace


def _replace_ipv6(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        # The zone ("%eth0") and an embedded IPv4 address do not count as hex groups.
        hex_part = text.split("%")[0].split(".")[0]
        groups = _IPV6_GROUP.findall(hex_part)
        # "a::b" (C++ scopes written in hex letters) and "1::2" (Python slices) are valid
        # addresses, so a candidate needs a digit and either three groups or a long one.
        if not any(character.isdigit() for character in hex_part):
            return text
        if len(groups) < 3 and not any(len(group) >= 3 for group in groups):
            return text
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return text
        if address.is_loopback or address.is_unspecified:
            return text
        counts["IP"] += 1
        return "[IP]"

    return replace


def _replace_ssn(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        counts["SSN"] += 1
        return "[SSN]"

    return replace


def _replace_card(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        digits = re.sub(r"\D", "", text)
        if not (_has_card_prefix(digits) and _luhn_valid(digits)):
            return text
        counts["CARD"] += 1
        return "[CARD]"

    return replace


def _replace_phone(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        digit_count = sum(character.isdigit() for character in text)
        if not _PHONE_MIN_DIGITS <= digit_count <= _PHONE_MAX_DIGITS:
            return text
        counts["PHONE"] += 1
        return "[PHONE]"

    return replace


# Secrets


def _replace_group(match: re.Match[str], group: str, replacement: str) -> str:
    """Return the whole match with one named group replaced."""
    start = match.start(group) - match.start()
    end = match.end(group) - match.start()
    return match.group(0)[:start] + replacement + match.group(0)[end:]


def _scrub_private_keys(text: str, counts: dict[str, int]) -> str:
    """Replace PEM private key blocks, through their END line or their last base64 line."""
    pieces: list[str] = []
    position = 0
    while (begin := _PRIVATE_KEY_BEGIN.search(text, position)) is not None:
        end_line = f"-----END {begin.group(1)}-----"
        end = text.find(end_line, begin.end(), begin.end() + _PRIVATE_KEY_MAX_CHARS)
        if end >= 0:
            block_end = end + len(end_line)
        else:
            block_end = _PRIVATE_KEY_BODY.match(text, begin.end()).end()
        pieces.append(text[position : begin.start()])
        pieces.append("[SECRET]")
        counts["SECRET"] += 1
        position = block_end
    pieces.append(text[position:])
    return "".join(pieces)


def _key_names_secret(key: str) -> bool:
    words = [word.lower() for word in _PARAMETER_WORD.findall(key)]
    if not words or words[-1] in _SECRET_KEY_METADATA_WORDS:
        return False
    # "pass" starts many keys that hold no secret (pass_fail_text, pass_rate), so it
    # counts only as the last word (DB_PASS).
    if words[-1] == "pass" or any(word in _SECRET_KEY_WORDS for word in words):
        return True
    if "".join(words) in _SECRET_KEY_WORDS:
        return True
    return any(
        word == "key" and index > 0 and words[index - 1] in _SECRET_KEY_QUALIFIERS
        for index, word in enumerate(words)
    )


def _quoted_parts(value: str) -> tuple[str, str, str]:
    """Split a quoted value into its opening (prefix and quote), content and closing quote."""
    opening = 0
    while value[opening] not in "\"'`":
        opening += 1
    return value[: opening + 1], value[opening + 1 : -1], value[-1]


def _is_placeholder_value(content: str) -> bool:
    if not content.strip():
        return True
    if _TEMPLATE_VALUE.fullmatch(content) or _MASKED_VALUE.fullmatch(content):
        return True
    # An f-string or template literal that interpolates is built from other values.
    return "{" in content and "}" in content


def _is_code_value(value: str, following: str, key: str) -> bool:
    """Return whether an unquoted value is a keyword, type, call, reference or variable."""
    bare = value.lstrip("&*")
    lowered = bare.lower()
    if lowered in _NON_SECRET_VALUES or _is_placeholder_value(bare):
        return True
    # A call, subscript, generic type or attribute chain: get_password(), env["KEY"].
    if following[:1] in ("(", "[", "<") or _DOTTED_IDENTIFIER.fullmatch(bare):
        return True
    if bare.startswith(("$", "%", "@")):
        return True
    # A variable named after the secret (api_key=api_key, password = PASSWORD) contains no
    # literal. A value with digits does not count, since passwords often contain the word.
    if _IDENTIFIER.fullmatch(bare) and not any(character.isdigit() for character in bare):
        words = {word.lower() for word in _PARAMETER_WORD.findall(bare)}
        if words & (_SECRET_KEY_WORDS | {"key"}) or lowered == key.lower():
            return True
    return False


def _secret_value_replacement(
    value: str, following: str, key: str, counts: dict[str, int], *, prose: bool
) -> str | None:
    """Return the replacement for a value that contains a secret, or None to keep it."""
    if _QUOTED.fullmatch(value):
        opening, content, closing = _quoted_parts(value)
        # "Bearer abc" keeps its scheme word, as an unquoted header value does.
        scheme = _AUTH_SCHEME_PREFIX.match(content)
        kept_scheme = scheme.group(0) if scheme else ""
        if _is_placeholder_value(content[len(kept_scheme) :]):
            return None
        counts["SECRET"] += 1
        return f"{opening}{kept_scheme}[SECRET]{closing}"
    # "!" and "?" stay in the value because passwords often end with them.
    trimmed = _trim_end(value, ".,;:")
    if not trimmed or _is_code_value(trimmed, following, key):
        return None
    # "The secret: her father was..." labels prose, so after a colon a plain word is kept
    # and only a value with a digit or symbol counts. NOTE: this keeps YAML passwords made
    # of letters only, such as "password: letmein".
    if prose and trimmed.isalpha():
        return None
    counts["SECRET"] += 1
    return "[SECRET]" + value[len(trimmed) :]


def _replace_secret_value(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        key = match.group("key")
        if not _key_names_secret(key):
            return match.group(0)
        value = match.group("value")
        following = match.string[match.end() : match.end() + 1]
        # A colon before an unquoted word is also how prose labels things.
        separator = match.string[match.end("key") : match.start("value")]
        prose = ":" in separator and "=" not in separator
        replacement = _secret_value_replacement(value, following, key, counts, prose=prose)
        if replacement is None:
            return match.group(0)
        return _replace_group(match, "value", replacement)

    return replace


def _replace_prose_secret(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        value = match.group("value")
        if _QUOTED.fullmatch(value):
            opening, content, closing = _quoted_parts(value)
            if _is_placeholder_value(content):
                return match.group(0)
            replacement = f"{opening}[SECRET]{closing}"
        else:
            # Sentence punctuation after a plain word ("is incorrect.") is no symbol.
            trimmed = _trim_end(value, ".,!?:;")
            if not any(not character.isalpha() for character in trimmed):
                return match.group(0)
            if _TEMPLATE_VALUE.fullmatch(trimmed):
                return match.group(0)
            replacement = "[SECRET]" + value[len(trimmed) :]
        counts["SECRET"] += 1
        return _replace_group(match, "value", replacement)

    return replace


def _replace_bearer(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        counts["SECRET"] += 1
        return _replace_group(match, "value", "[SECRET]")

    return replace


def _replace_prefixed_secret(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        # "sk-" also starts CSS class names such as sk-fading-circle-animation, so such a
        # key needs a digit, which a random key of 20 or more characters almost surely has.
        if token.startswith("sk-") and not any(character.isdigit() for character in token):
            return token
        counts["SECRET"] += 1
        return "[SECRET]"

    return replace


def _scrub_secrets(text: str, counts: dict[str, int]) -> str:
    # Each pattern is skipped when the text lacks a string that every match contains.
    if any(prefix in text for prefix in _SECRET_PREFIXES):
        text = _PREFIXED_SECRET.sub(_replace_prefixed_secret(counts), text)
    folded = text.casefold()
    if not any(word in folded for word in _SECRET_KEY_HINTS):
        return text
    if "=" in text or ":" in text:
        text = _SECRET_ASSIGNMENT.sub(_replace_secret_value(counts), text)
    if "--" in text:
        text = _SECRET_FLAG.sub(_replace_secret_value(counts), text)
    if "</" in text:
        text = _SECRET_XML_ELEMENT.sub(_replace_secret_value(counts), text)
    text = _SECRET_IN_PROSE.sub(_replace_prose_secret(counts), text)
    if "bearer" in folded:
        text = _BEARER.sub(_replace_bearer(counts), text)
    return text


# IBANs


def _replace_iban(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        length = _IBAN_LENGTHS.get(text[:2])
        if length is None:
            return text
        # Walk the candidate to the character that completes the country's length, so
        # that a word after the IBAN ("... 32 OR") is not counted in.
        seen = 0
        for index, character in enumerate(text):
            if character != " ":
                seen += 1
            if seen == length:
                break
        else:
            return text
        rest = text[index + 1 :]
        if rest and not rest.startswith(" "):
            return text
        if not _iban_valid(text[: index + 1].replace(" ", "")):
            return text
        counts["IBAN"] += 1
        return "[IBAN]" + rest

    return replace


# Postal addresses


def _replace_address(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        counts["ADDRESS"] += 1
        return "[ADDRESS]"

    return replace


def _scrub_addresses(text: str, counts: dict[str, int]) -> str:
    replace = _replace_address(counts)
    text = _STREET_ADDRESS.sub(replace, text)
    text = _PO_BOX.sub(replace, text)
    return _UK_POSTCODE_ALONE.sub(replace, text)


# Person names


@dataclass(frozen=True)
class _NameLists:
    """Casefolded first names and surnames from the name library."""

    first_names: frozenset[str]
    last_names: frozenset[str]


def _add_single_word_names(names: set[str], values: object) -> None:
    # Some locales compute names in a property or keep weights in a dict, whose keys
    # are the names. Multi-word entries ("de la Cruz") cannot match one word and are left out.
    if not isinstance(values, (list, tuple, dict, set, frozenset)):
        return
    for value in values:
        if isinstance(value, str) and len(value) >= 2 and _NAME_WORD.fullmatch(value):
            names.add(value.casefold())


@functools.cache
def _load_name_lists() -> _NameLists | None:
    """Load first names and surnames from Faker's person providers, or None without Faker.

    Faker ships its name lists inside the package. Faker 40.63 gives 26,702 single-word
    first names and 28,740 surnames over all locales. Loading them took 0.2 to 0.3 s and
    added 30 MB of resident memory on a 2-core AMD EPYC machine.
    """
    try:
        import faker.providers.person as person_providers
    except ImportError:
        return None
    first_names: set[str] = set()
    last_names: set[str] = set()
    for module_info in pkgutil.iter_modules(person_providers.__path__):
        module = importlib.import_module(f"{person_providers.__name__}.{module_info.name}")
        provider = getattr(module, "Provider", None)
        # Locales name their lists differently (first_names_male, unisex_last_names), so
        # every public attribute whose name mentions first or last names is read.
        for attribute in dir(provider):
            if attribute.startswith("_"):
                continue
            if "first_names" in attribute:
                _add_single_word_names(first_names, getattr(provider, attribute))
            elif "last_names" in attribute:
                _add_single_word_names(last_names, getattr(provider, attribute))
    return _NameLists(frozenset(first_names), frozenset(last_names))


def name_library_available() -> bool:
    """Load the optional name library (Faker) once and return whether it is installed."""
    return _load_name_lists() is not None


def _is_name_word(word: str, *, allow_name_like: bool) -> bool:
    if len(word) < 2 or not word[0].isupper():
        return False
    # Short all-capital words are acronyms (I, HR, USA).
    if word.isupper() and len(word) <= 3:
        return False
    folded = word.casefold()
    if _CONTRACTION.search(folded):
        return False
    if folded in _NOT_NAMES:
        return False
    return allow_name_like or folded not in _NAME_LIKE_WORDS


def _is_initial(word: str) -> bool:
    return len(word) == 2 and word[1] == "." and word[0].isupper()


def _name_end(text: str, start: int, *, allow_name_like: bool) -> int:
    """Return where the name that starts at `start` ends, or `start` if none starts there.

    A name is up to four capitalised words on one line. Particles (van, de) and initials
    belong to it only when a name word follows them.
    """
    end = start
    position = start
    for words in range(_NAME_MAX_WORDS):
        match = _NAME_WORD.match(text, position)
        if match is None:
            break
        word = match.group(0)
        is_connector = _is_initial(word) or (words > 0 and word in _NAME_PARTICLES)
        if not is_connector:
            if not _is_name_word(word, allow_name_like=allow_name_like):
                break
            end = match.end()
        gap = _NAME_GAP.match(text, match.end())
        if gap is None:
            break
        position = gap.end()
    return end


@dataclass(frozen=True)
class _NameContext:
    """A phrase after which a name may start, and what makes the name count.

    Without a follower, the phrase alone marks a name, so any capitalised word that is
    not a common word counts. With one, the name counts when the follower matches right
    after it, or else when the name library lists its first word.
    """

    lead: re.Pattern[str]
    follower: re.Pattern[str] | None
    # Casefolded strings of which every lead contains one, to skip the pattern quickly.
    hints: tuple[str, ...]


_TITLE_HINTS = ("mr", "ms", "mx", "dr", "prof", "miss", "sir", "dame", "madam")
_NAME_CONTEXTS = (
    _NameContext(_TITLE, None, _TITLE_HINTS),
    _NameContext(_INTRODUCTION, None, ("name", "call", "go")),
    _NameContext(_RELATION, None, ("my", "our", "his", "her", "their")),
    _NameContext(_FIELD_LABEL, None, (":",)),
    _NameContext(
        _GREETING, _NAME_FOLLOWER, ("hi", "hello", "hey", "dear", "greetings", "howdy", "good")
    ),
    _NameContext(
        _SIGN_OFF,
        _NAME_FOLLOWER,
        ("regards", "wishes", "best", "sincerely", "yours", "respectfully", "cordially")
        + ("warmly", "love", "care", "soon", "signed", "thank", "cheers"),
    ),
    _NameContext(_I_AM, _INTRODUCTION_FOLLOWER, ("am", "'m", "’m")),
    _NameContext(_THIS_IS, _THIS_IS_FOLLOWER, ("is", "'s", "’s")),
)


def _context_name_end(
    text: str, start: int, context: _NameContext, names: _NameLists | None
) -> int:
    """Return where a name after a context phrase ends, or `start` if it does not count."""
    end = _name_end(text, start, allow_name_like=True)
    if end == start or context.follower is None:
        return end
    if context.follower.match(text, end):
        return end
    if names is None:
        return start
    end = _name_end(text, start, allow_name_like=False)
    first_word = _NAME_WORD.match(text, start)
    if end == start or first_word is None:
        return start
    if first_word.group(0).casefold() not in names.first_names:
        return start
    return end


def _replace_spans(text: str, spans: Iterable[tuple[int, int]], placeholder: str) -> str:
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        pieces.append(text[position:start])
        pieces.append(placeholder)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _scrub_context_names(
    text: str, context: _NameContext, names: _NameLists | None, counts: dict[str, int]
) -> str:
    spans: list[tuple[int, int]] = []
    for lead in context.lead.finditer(text):
        start = lead.end()
        if spans and start < spans[-1][1]:
            continue
        end = _context_name_end(text, start, context, names)
        if end > start:
            spans.append((start, end))
    counts["NAME"] += len(spans)
    return _replace_spans(text, spans, "[NAME]")


def _is_display_name_word(word: str) -> bool:
    if _is_initial(word) or word in _NAME_PARTICLES:
        return True
    return _is_name_word(word, allow_name_like=True)


def _replace_display_name(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        candidate = match.group("name")
        if candidate[0] in "\"'":
            counts["NAME"] += 1
            return "[NAME]" + match.group(0)[len(candidate) :]
        # The match may start with words before the name ("From Jane Doe"), so the name
        # is the longest run of name words that ends right before the address.
        words = list(_NON_SPACE.finditer(candidate))
        first = len(words)
        while first > 0 and _is_display_name_word(words[first - 1].group(0)):
            first -= 1
        # Particles and initials belong to a name but cannot start one.
        while first < len(words) and not _is_name_word(words[first].group(0), allow_name_like=True):
            first += 1
        if first == len(words):
            return match.group(0)
        counts["NAME"] += 1
        kept = candidate[: words[first].start()]
        return kept + "[NAME]" + match.group(0)[len(candidate) :]

    return replace


def _scrub_word_pairs(text: str, names: _NameLists, counts: dict[str, int]) -> str:
    """Replace a known first name followed by a known surname ("Anna Kowalski")."""
    spans: list[tuple[int, int]] = []
    for match in _WORD_PAIR.finditer(text):
        if spans and match.start() < spans[-1][1]:
            continue
        first, last = match.group("first"), match.group("last")
        if not (
            _is_name_word(first, allow_name_like=False)
            and _is_name_word(last, allow_name_like=True)
            and first.casefold() in names.first_names
            and last.casefold() in names.last_names
        ):
            continue
        spans.append((match.start(), _name_end(text, match.start(), allow_name_like=True)))
    counts["NAME"] += len(spans)
    return _replace_spans(text, spans, "[NAME]")


def _scrub_names(text: str, counts: dict[str, int], names: _NameLists | None) -> str:
    if "<[EMAIL]>" in text:
        text = _QUOTED_DISPLAY_NAME.sub(_replace_display_name(counts), text)
        text = _DISPLAY_NAME.sub(_replace_display_name(counts), text)
    folded = text.casefold()
    for context in _NAME_CONTEXTS:
        if any(hint in folded for hint in context.hints):
            text = _scrub_context_names(text, context, names, counts)
    if names is not None:
        text = _scrub_word_pairs(text, names, counts)
    return text


# Entry points


def scrub_counts(text: str, *, name_library: bool = True) -> tuple[str, dict[str, int]]:
    """Replace personal data and secrets with typed placeholders and count each type.

    The returned dict has one key per name in PLACEHOLDER_TYPES, with zero for a type
    that was not found. The detectors run in an order that keeps overlapping matches
    whole. Private keys and URLs run first, so that their contents are not read as
    emails or numbers. Secrets run before emails, so that a password with "@" is one
    secret. Emails run before names, so that a display name is seen next to [EMAIL].
    IBANs and IPv6 addresses run before cards and phones, whose digit groups they contain.
    Addresses and names run last because their checks are the loosest.

    With name_library, names are also found through Faker's first-name and surname
    lists when Faker is installed. Without it, only the common forms count: greetings,
    sign-offs, self-introductions, titles, relations, field labels and display names.
    """
    counts = dict.fromkeys(PLACEHOLDER_TYPES, 0)
    if not text:
        return text, counts
    # A pattern is skipped when the text lacks a character that every match contains.
    if "-----BEGIN" in text:
        text = _scrub_private_keys(text, counts)
    if "://" in text:
        text = _URL.sub(_replace_url(counts), text)
    text = _scrub_secrets(text, counts)
    if "@" in text:
        text = _EMAIL.sub(_replace_email(counts), text)
    text = _IBAN.sub(_replace_iban(counts), text)
    if ":" in text:
        text = _IPV6.sub(_replace_ipv6(counts), text)
    if "." in text:
        text = _IPV4.sub(_replace_ip(counts), text)
    if "-" in text:
        text = _SSN.sub(_replace_ssn(counts), text)
    text = _CARD.sub(_replace_card(counts), text)
    if "+" in text:
        text = _PHONE_INTERNATIONAL.sub(_replace_phone(counts), text)
    text = _PHONE_US.sub(_replace_phone(counts), text)
    text = _scrub_addresses(text, counts)
    names = _load_name_lists() if name_library else None
    text = _scrub_names(text, counts, names)
    return text, counts


def scrub_text(text: str, *, name_library: bool = True) -> str:
    """Replace personal data and secrets in text with typed placeholders.

    See scrub_counts for the placeholders, the order of the detectors and name_library.
    UUIDs, hex hashes, version strings, times and ordinary numbers are left as they are.
    """
    return scrub_counts(text, name_library=name_library)[0]
