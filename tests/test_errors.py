"""The exception hierarchy of mcprop.errors: every error a user causes is a McpropError of
the kind that names what is wrong, in the API's words in Python and the CLI's on the command
line."""

import pytest

import mcprop
from mcprop.errors import (
    ArgumentError,
    ConfigError,
    McpropError,
    MissingDependencyError,
    RunDirectoryError,
    UserError,
)
from mcprop.files import InputFileError, read_text
from mcprop.interface import cli


def test_the_base_is_exported_at_the_top_and_keeps_its_old_name():
    assert mcprop.McpropError is McpropError is UserError is mcprop.errors.McpropError
    for kind in (ArgumentError, ConfigError, MissingDependencyError, RunDirectoryError,
                 InputFileError):
        assert issubclass(kind, McpropError)
    assert issubclass(InputFileError, ValueError)  # still caught where a ValueError is


def test_a_missing_run_directory_is_a_run_directory_error(tmp_path):
    with pytest.raises(RunDirectoryError, match="not a directory"):
        mcprop.load(tmp_path / "absent")


def test_a_bad_argument_speaks_the_api_in_python_and_the_cli_on_the_command_line(capsys):
    with pytest.raises(ArgumentError) as caught:
        mcprop.ScanResult({"physics": {"model": "magnetic-moment"}, "name": "m"},
                          None, [], "hash").result_at(3.0)
    assert str(caught.value).startswith("mass_MeV: m has no mass grid")
    assert caught.value.cli_message.startswith("--mass-MeV: m has no mass grid")
    assert cli.main(["run", "borexino-phase1", "--workers", "0"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_bad_config_value_is_a_config_error():
    document = mcprop.read_config("borexino-phase1")
    document["sampler"]["n_walkers"] = "many"
    with pytest.raises(ConfigError, match="n_walkers"):
        mcprop.run(document)


def test_an_input_file_error_prints_its_path_as_it_is(tmp_path):
    odd = tmp_path / "--force"
    with pytest.raises(InputFileError) as caught:
        read_text(odd)
    assert str(caught.value) == caught.value.cli_message
    assert str(caught.value).startswith(f"{odd}: cannot read")
