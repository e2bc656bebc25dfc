"""omapi.secret_file: one place for the pair's OMAPI secret, whatever the working directory,
and every way it can be unusable named at load time (exit 2), before any SSH."""

from __future__ import annotations

import os
import stat

import pytest

from tests.unit.test_answers_inputs import HOSTS, refused, write
from wizard.answers import load_answers
from wizard.errors import InputError


def test_a_relative_secret_file_is_relative_to_the_answers_file(tmp_path, monkeypatch):
    (tmp_path / "pair").mkdir()
    path = write(tmp_path / "pair", HOSTS + '[omapi]\nsecret_file = "omapi.secret"\n')
    monkeypatch.chdir(tmp_path)
    assert load_answers(path).omapi.secret_file == str(tmp_path / "pair" / "omapi.secret")
    # The same file read by a relative name from elsewhere means the same secret.
    monkeypatch.chdir(tmp_path / "pair")
    assert load_answers("answers.toml").omapi.secret_file == str(tmp_path / "pair" / "omapi.secret")


def test_a_secret_file_under_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = write(tmp_path, HOSTS + '[omapi]\nsecret_file = "~/omapi.secret"\n')
    assert load_answers(path).omapi.secret_file == str(tmp_path / "omapi.secret")


def test_a_relative_secret_file_without_an_answers_file_is_refused():
    from wizard.answers import answers_from_dict

    with pytest.raises(InputError) as info:
        answers_from_dict({"primary": {"host": "a"}, "secondary": {"host": "b"},
                           "omapi": {"secret_file": "omapi.secret"}})
    assert "omapi.secret_file" in info.value.message and "absolute" in info.value.message


def test_a_secret_file_in_a_missing_directory_is_named(tmp_path):
    error = refused(write(tmp_path, HOSTS + f'[omapi]\nsecret_file = "{tmp_path}/nope/k"\n'))
    assert "omapi.secret_file" in error.message and "does not exist" in error.message
    assert "mkdir" in error.hint


def test_a_secret_file_that_is_a_directory_is_named(tmp_path):
    error = refused(write(tmp_path, HOSTS + f'[omapi]\nsecret_file = "{tmp_path}"\n'))
    assert "omapi.secret_file" in error.message and "directory" in error.message


def test_an_existing_secret_file_in_a_directory_gone_later_is_an_input_error(tmp_path):
    """Between load and plan the directory may go: the write is still reported, not a crash."""
    from wizard.conf import omapi_key

    with pytest.raises(InputError) as info:
        omapi_key.write_secret_file(str(tmp_path / "gone" / "k"), "c2VjcmV0")
    assert "omapi.secret_file" in info.value.message


def test_a_generated_secret_file_is_private(tmp_path):
    from wizard.conf import omapi_key

    omapi_key.write_secret_file(str(tmp_path / "k"), "c2VjcmV0")
    assert stat.S_IMODE(os.stat(tmp_path / "k").st_mode) == 0o600
