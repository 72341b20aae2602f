"""Character error rate: how Korean transcripts are scored, where one wrong ending spoils a whole word."""

from __future__ import annotations

import pytest

from hear2see_desktop.core.asr.wer import character_error_rate, word_error_rate


def test_character_error_rate_counts_letters_not_spaces_or_punctuation() -> None:
    assert character_error_rate("바위 해안에, 홀로.", "바위해안에 홀로") == 0.0
    assert character_error_rate("Sun-set", "sunset") == 0.0
    assert character_error_rate("바위", "바귀") == pytest.approx(0.5)
    assert character_error_rate("abc", "ab") == pytest.approx(1 / 3)
    assert character_error_rate("ab", "abcd") == pytest.approx(1.0)


def test_character_error_rate_is_gentler_than_word_error_rate_on_korean_endings() -> None:
    reference, heard = "어부들은 그물을 펼쳐 말립니다", "어부들이 그물을 펼쳐 말립니다"

    assert word_error_rate(reference, heard) == pytest.approx(0.25)
    assert character_error_rate(reference, heard) == pytest.approx(1 / 13)


def test_character_error_rate_of_an_empty_reference() -> None:
    assert character_error_rate("", "") == 0.0
    assert character_error_rate("...", "") == 0.0
    assert character_error_rate("...", "a") == 1.0
