"""The programme config: defaults, the example file, and clear errors for bad files."""

from pathlib import Path

import pytest

from core.kernel import ConfigError
from core.programme import Programme, load_programme

EXAMPLE = Path(__file__).parent.parent / "loyalty.example.toml"


def test_the_example_file_describes_exactly_the_built_in_defaults():
    assert load_programme(EXAMPLE) == Programme()


def test_the_defaults_are_a_taiwanese_cafe_programme():
    programme = Programme()
    assert programme.currency == "TWD"
    assert programme.timezone == "Asia/Taipei"
    assert [tier.name["zh-TW"] for tier in programme.tiers.levels] == [
        "一般會員",
        "銀卡",
        "金卡",
        "VIP",
    ]
    assert programme.earn.points_per_unit == 1


def test_settings_override_time_zone_and_locale():
    programme = load_programme(None, timezone="Europe/London", locale="en")
    assert (programme.timezone, programme.locale) == ("Europe/London", "en")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "loyalty.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("currency = 'NT'", "currency", "pattern"),
        ("pending_days = -1", "pending_days", "greater than or equal to 0"),
        ("[earn]\npoints_per_unit = 0", "earn.points_per_unit", "greater than 0"),
        ("[earn]\npoint_per_unit = 2", "earn.point_per_unit", "unknown field"),
        ("[tiers]\nlevels = []", "tiers.levels", "at least 1"),
        ("[[tiers.levels]]\ncode='a'\nname='A'\nthreshold=10", "tiers", "threshold 0"),
        (
            "[[coupons]]\ncode='X'\ntitle='x'\nkind='percent_off'\nvalue=150",
            "coupons[0]",
            "between 1 and 100",
        ),
        ("[[coupons]]\ncode='X'\ntitle='x'\nkind='teleport'", "coupons[0].kind", "amount_off"),
        ("[[automations]]\ncode='w'\nkind='welcome'\ncoupon='NOPE'", "(top level)", "NOPE"),
        ("[funnel]\nat_risk_days = 200\nlapsed_days = 100", "funnel", "greater than"),
        ("[quiet_hours]\nstart = 'late'", "quiet_hours.start", "time"),
        (
            "[[surveys]]\ncode='s'\ntitle='S'\nquestions=[{key='q', kind='choice', text='?'}]",
            "surveys[0].questions[0]",
            "two choices",
        ),
    ],
)
def test_a_bad_field_is_named_with_the_file_and_what_is_wrong(tmp_path, text, field, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_programme(path)
    error = caught.value
    assert error.path == str(path)
    assert error.field == field
    assert words in error.problem
    assert str(path) in str(error) and field in str(error)


def test_a_file_that_is_not_toml_is_reported_as_a_syntax_error(tmp_path):
    path = write(tmp_path, "tiers = [unclosed")
    with pytest.raises(ConfigError) as caught:
        load_programme(path)
    assert caught.value.field == "(syntax)"


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_programme(tmp_path / "nope.toml")
    assert "not found" in caught.value.problem


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ConfigError) as caught:
        load_programme(None, timezone="Mars/Olympus")
    assert caught.value.field == "timezone"
