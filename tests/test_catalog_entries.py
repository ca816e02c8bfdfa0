"""Lookups of one catalog entry (catalog.TomlEntries) must equal the full, validated read."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from tokenworks import catalog
from tokenworks.catalog import TomlEntries, data_path
from tokenworks.errors import CatalogError
from tokenworks.hardware import accelerator as acc_mod
from tokenworks.hardware import system as sys_mod
from tokenworks.model import catalog as model_mod

FILES = [("accelerators.toml", "accelerator"), ("systems.toml", "system"),
         ("models.toml", "model"), ("finance.toml", "param"), ("prices.toml", "gpu")]


@pytest.mark.parametrize(("file", "table"), FILES)
def test_entries_parse_alone_as_in_the_whole_file(file, table):
    path = data_path(file)
    whole = tomllib.loads(path.read_text())
    if table not in whole:
        pytest.skip(f"{file} has no [[{table}]]")
    lazy = TomlEntries(path, table)
    rows = whole[table]
    if set(whole) != {table}:
        assert not lazy.usable  # other top-level tables: always the full read
        return
    assert lazy.usable and len(lazy.chunks) == len(rows)
    for i, row in enumerate(rows):
        assert lazy.entry(i) == row
        for key in ("name", "accelerator"):
            assert lazy.value(i, key) == row.get(key)


def test_find_first_match_and_misses(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text('# comment\n\n[[thing]]\nname = "a"\nkind = "k"\n[thing.sub]\nkind = "z"\n\n'
                 '[[thing]]\nname = \'b\'  # literal string: found by parsing\nkind = "k"\n'
                 'notes = """\nkind = "q"\n"""\n[[thing]]\nname = "c"\nkind = "q"\n')
    t = TomlEntries(p, "thing")
    assert t.find("name", "b") == {"name": "b", "kind": "k", "notes": 'kind = "q"\n'}
    assert t.find("kind", "k")["name"] == "a"  # the first in file order
    assert t.find("kind", "z") is None  # a sub-table's key is not the entry's
    assert t.find("kind", "q")["name"] == "c"
    assert t.find("name", "nope") is None


@pytest.mark.parametrize("text", [
    'top = 1\n[[thing]]\nname = "a"\n',  # a top-level key: the full read rejects the file
    '[[thing]]\nname = "a"\n[[thing]]\nname = "a"\n',  # a repeated name
    '[[thing]]\nname = "a"\n[other]\nx = 1\n',  # another top-level table
    '[[thing]]\nname = "a"\n[[thing]]\nname = "b"\n[[other]]\nx = 1\n',  # another array
    '[[thing]]\nname = "a"\nbroken = \n',  # does not parse
])
def test_find_defers_to_the_full_read(tmp_path, text):
    p = tmp_path / "x.toml"
    p.write_text(text)
    assert TomlEntries(p, "thing").find("name", "a") is None


def test_missing_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError):
        TomlEntries(tmp_path / "none.toml", "thing")


def test_single_lookups_equal_full_catalog():
    for name, full in acc_mod._catalog().items():
        assert acc_mod._one(name) == full
    for name, full in sys_mod._catalog().items():
        assert sys_mod._first("name", name) == full
    for a in {s.accelerator for s in sys_mod._catalog().values()}:
        first = next(s for s in sys_mod._catalog().values() if s.accelerator == a)
        assert sys_mod._first("accelerator", a) == first
    for name, full in model_mod._catalog().items():
        assert model_mod._one(name) == full
    assert catalog.data_path("models.toml") == data_path("models.toml")


def test_first_simulation_parses_only_what_it_needs():
    """A fresh process building one scenario's hardware and model parses no whole catalog."""
    code = ("from tokenworks.hardware import accelerator as a, system as s\n"
            "from tokenworks.model import catalog as m\n"
            "acc = a.get_accelerator('H100-SXM')\n"
            "assert s.default_system_for(acc.name) is not None\n"
            "m.get_model('llama-3-70b')\n"
            "print(a._catalog.cache_info().currsize, s._catalog.cache_info().currsize,"
            " m._catalog.cache_info().currsize)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["0", "0", "0"]


def test_single_finance_param_equals_full_catalog():
    from tokenworks.economics import catalog as econ

    for name, full in econ._params().items():
        assert econ._one_param(name) == full


def test_one_line_string_reader():
    from tokenworks.catalog import _one_line_string

    text = 'name_x = "no"\nname = "a-1"  # comment\n'
    assert _one_line_string(text, "name") == "a-1"
    assert _one_line_string('name="b"\n', "name") == "b"
    assert _one_line_string('name = "b" trailing\n', "name") is None
    assert _one_line_string('name = "b\\\\c"\n', "name") is None  # an escape: parse instead
    assert _one_line_string("name = 'lit'\n", "name") is None
    assert _one_line_string('  name = "indented"\n', "name") is None
    assert _one_line_string('other = "x"\n', "name") is None
