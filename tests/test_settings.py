"""The settings table (stacks/settings.py) and the typed `Settings` the code reads it through
say the same thing: the same settings, in the same order, each field typed as its row parses.
And every setting a file names (a message, a doc, a test) is one of the table's."""

import re
import subprocess
import sys
import types
import typing
from dataclasses import FrozenInstanceError

import pytest

from stacks.settings import SETTINGS, Settings, defaults
from tests.support import PROJECT_ROOT

# Switches of the tools, not settings of the stack: they change how synth runs, never what it makes.
TOOL_SWITCHES = {"REVIEWS_EAGER_PROVIDER_IMPORT"}


def holds(annotation: object, value: object) -> bool:
    """Whether `value` is of the (simple) type `annotation`: int, str | None, tuple[str, ...]."""
    if isinstance(annotation, types.UnionType):
        return any(holds(member, value) for member in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if typing.get_origin(annotation) is tuple:
        (item, _) = typing.get_args(annotation)
        return isinstance(value, tuple) and all(holds(item, part) for part in value)
    return isinstance(annotation, type) and type(value) is annotation


def test_settings_has_one_field_per_row_in_the_table_order():
    assert Settings.field_names() == tuple(setting.attribute for setting in SETTINGS)


# A value each row accepts besides its default, to reach every member of the field's type.
OTHER_VALUES = {"account_id": "", "state_bucket": "", "state_kms_key": "", "reserved_concurrency": "off"}


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_each_field_is_typed_as_its_row_parses(setting):
    annotation = typing.get_type_hints(Settings)[setting.attribute]
    default = getattr(defaults(), setting.attribute)
    assert holds(annotation, default), f"{setting.name}'s default {default!r} is not a {annotation}"
    if setting.attribute in OTHER_VALUES:
        other = setting.parse(OTHER_VALUES[setting.attribute])
        assert holds(annotation, other), f"{setting.name}={other!r} is not a {annotation}"


def test_the_type_check_tells_types_apart():
    assert holds(int, 5) and not holds(int, True) and not holds(int, "5")
    assert holds(str | None, None) and not holds(str, None)
    assert holds(tuple[str, ...], ("a",)) and not holds(tuple[str, ...], (1,))


def test_settings_are_read_only_and_an_invalid_one_is_absent():
    with pytest.raises(FrozenInstanceError):
        defaults().region = "eu-west-1"  # type: ignore[misc]  # what the test checks
    partial = Settings.of_valid({"region": "eu-west-1"})
    assert partial.region == "eu-west-1"
    with pytest.raises(AttributeError):
        _ = partial.state_region


def test_every_setting_named_in_the_project_is_in_the_table():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    known = {setting.name for setting in SETTINGS} | TOOL_SWITCHES
    unknown: dict[str, list[str]] = {}
    for name in listed:
        path = PROJECT_ROOT / name
        if path.suffix not in (".py", ".md", ".json", ".yml", ".sh", "") or not path.is_file():
            continue
        for found in set(re.findall(r"\bREVIEWS_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(errors="replace"))) - known:
            unknown.setdefault(found, []).append(name)
    assert len(listed) > 100
    assert unknown == {}, f"not settings (stacks/settings.py): {unknown}"


def test_a_misspelt_setting_fails_type_checking(tmp_path):
    reader = tmp_path / "reader.py"
    reader.write_text("from stacks.settings import defaults\n\nlimit: int = defaults().min_capacty\n")
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent", str(reader)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 1, checked.stdout
    assert '"Settings" has no attribute "min_capacty"' in checked.stdout
