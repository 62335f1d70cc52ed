"""The executors' registry: each executor is one class behind one interface, and its
names are what the command line, runyard.toml and flow settings accept."""

import inspect
import textwrap

import pytest

from runyard.engine.executors import EXECUTORS, REGISTRY, Executor, executor_class

from conftest import run_cli_process


@pytest.mark.parametrize("name", EXECUTORS)
def test_each_executor_is_a_whole_executor_under_its_name(name):
    cls = executor_class(name)
    assert issubclass(cls, Executor) and cls.name == name
    assert not inspect.isabstract(cls)  # every verb of the interface is there
    module, _cls = REGISTRY[name]
    assert module == f"runyard.engine.executors.{name}"  # one file each, in one folder


def test_the_names_are_what_every_entry_point_accepts(cli, root, tmp_path, monkeypatch):
    assert EXECUTORS == ("local", "dask", "slurm")
    (tmp_path / "m.py").write_text("def run(instance, save, state):\n    pass\n")
    (tmp_path / "a.txt").write_text("a")
    refused = run_cli_process("--root", root, "run", str(tmp_path / "m.py"), "--instances",
                              str(tmp_path / "a.txt"), "--executor", "pbs")
    assert refused.returncode == 2
    assert "choose from 'local', 'dask', 'slurm'" in refused.stderr
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runyard.toml").write_text(textwrap.dedent("""
        [operations.x]
        module = "m.py"
        instances = ["a.txt"]
        executor = "pbs"
    """))
    result = cli("--root", root, "run", "x")
    assert result.code != 0 and "executor must be one of local, dask, slurm" in result.err
    from runyard.engine.flows import FlowError, Local, flow, op

    @flow
    def one():
        return op(str(tmp_path / "m.py"), instances=[str(tmp_path / "a.txt")],
                  executor="pbs")

    with pytest.raises(FlowError, match="executor must be one of local, dask, slurm"):
        Local(one(), root=root).prepare()
