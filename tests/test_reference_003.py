"""Reference 003's samples (Malevich's flow lifecycle) with only the import changed
(``from malevich import ...`` -> ``from runyard.engine.flows import ...``), in the
reference's order. Its placeholders are filled with what runs here: the flow's body
(``# Your flow logic here...``), ``table(...)``'s data and ``{...}``'s settings.
``run(run_id=...)`` of a completed run is refused with a message, as documented
(docs/engine.md: Malevich would run it again)."""

import textwrap

import pytest

from runyard.engine import list_runs

WORK = """
    import os
    from runyard.engine import params

    def run(instance, save, state):
        name = os.path.basename(instance).rsplit(".", 1)[0]
        with open(name + ".out", "w") as f:
            f.write(params().get("tag", "-") + ":" + open(instance).read())
"""


def test_reference_003_samples(root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the runs root is ./runs, as for a user's script
    assert root == tmp_path / "runs"
    (tmp_path / "work.py").write_text(textwrap.dedent(WORK))
    (tmp_path / "first.txt").write_text("first data")

    # Definition
    from runyard.engine.flows import flow, op

    work, first = str(tmp_path / "work.py"), str(tmp_path / "first.txt")

    @flow
    def my_flow():
        my_data = op(work, instances=[first], alias="my_data")
        return op(work, my_data.outputs("*.out"), alias="preprocess")

    task = my_flow()
    assert type(task).__name__ == "PromisedTask"

    # Interpretation
    from runyard.engine.flows import Core, Space

    interpreted_on_core = Core(my_flow)
    interpreted_on_space = Space(my_flow)
    assert interpreted_on_core.get_stage() == interpreted_on_space.get_stage() == "interpreted"

    # Deployment
    interpreted_on_core.prepare()
    assert interpreted_on_core.get_stage() == "prepared"

    # Running
    from runyard.engine.flows import table

    interpreted_on_core.run()
    interpreted_on_core.run(overrides={"my_data": table([{"text": "new data"}])})
    interpreted_on_core.run(config_extensions={"preprocess": {"params": {"tag": "P"}}})
    run_id = interpreted_on_core.run(
        overrides={"my_data": table([{"text": "both"}])},
        config_extensions={"preprocess": {"params": {"tag": "Q"}}}
    )
    from runyard.engine.flows import FlowError

    with pytest.raises(FlowError, match=r"completed: run\(run_id=\.\.\.\) resumes"):
        interpreted_on_core.run(run_id=run_id)
    outputs = {r.alias: r.outputs for r in interpreted_on_core.results(run_id)}
    [output] = outputs["preprocess"]
    assert output.read_text() == "Q:-:text\nboth\n"

    # Stopping
    task = interpreted_on_core
    task.prepare()  # Prepare the task
    task.run()  # Do the job
    task.stop()  # Release resources
    assert task.get_stage() == "stopped"

    # Results
    interpreted_on_core.prepare()
    interpreted_on_core.run()
    results = interpreted_on_core.results()
    assert [r.alias for r in results] == ["preprocess"]
    assert [p.read_text() for p in results[0].outputs] == ["-:-:first data"]
    interpreted_on_space.prepare()
    interpreted_on_space.run()
    results = interpreted_on_space.results()
    assert [p.read_text() for p in results[0].outputs] == ["-:-:first data"]
    interpreted_on_space.stop()
    flows = [r for r in list_runs(root) if r.attrs.get("kind") == "flow"]
    assert [r.status for r in flows] == ["completed"] * 7
