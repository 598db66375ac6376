"""Errors the command line turns into one-line messages and exit codes."""


class VideodescError(Exception):
    """Something went wrong inside videodesc (exit code 1)."""

    exit_code = 1


class InputError(VideodescError):
    """The user's input cannot be used: a bad file, a bad option (exit code 2)."""

    exit_code = 2


class ModelError(VideodescError):
    """A model the configuration asks for is missing or broken (exit code 2: the user can fix it)."""

    exit_code = 2


class Terminated(BaseException):
    """The run was asked to stop (SIGTERM). A BaseException, as KeyboardInterrupt is, so that no
    `except Exception` on the way swallows it: the stack unwinds, temporary files are removed,
    child processes are killed, and the command exits 143."""
