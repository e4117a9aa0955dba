"""Anonymisation stage: personal details out, stable pseudonyms in (pure logic, no I/O but the key).

    key = load_or_create_key(workspace / "pseudonym.key")
    names = compile_known_names(all_usernames)            # once per project
    pseudonymiser = Pseudonymiser(key, names=all_usernames)
    result = anonymise(post_text, pseudonymiser, names)   # -> AnonymisedText(text, counts)

- `detect`: `find_pii(text, known_names)` -> non-overlapping `Span(start, end, type, value)`;
  types are `PII_TYPES` plus `USERNAME` (known names, @mentions, quote headers);
- `pseudonyms`: per-workspace HMAC key and `Pseudonymiser` (two/three-letter codes);
- `replace`: `anonymise` and the typed placeholders from `config/anonymise.toml`.
"""

from pipeline.anonymise.detect import (
    PII_TYPES,
    USERNAME,
    Detector,
    KnownNames,
    Rules,
    Span,
    compile_known_names,
    default_detector,
    find_pii,
    load_rules,
)
from pipeline.anonymise.pseudonyms import (
    KeyFileError,
    Pseudonymiser,
    load_or_create_key,
)
from pipeline.anonymise.replace import AnonymisedText, anonymise, apply_spans, merge_counts

__all__ = [
    "PII_TYPES",
    "USERNAME",
    "AnonymisedText",
    "Detector",
    "KeyFileError",
    "KnownNames",
    "Pseudonymiser",
    "Rules",
    "Span",
    "anonymise",
    "apply_spans",
    "compile_known_names",
    "default_detector",
    "find_pii",
    "load_or_create_key",
    "load_rules",
    "merge_counts",
]
