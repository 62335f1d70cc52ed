"""An example flow: extract the lines of some text files, then summarise them.

    runyard flow examples/flow/lines_flow.py:lines_summary
    runyard flow examples/flow/lines_flow.py:lines_summary --platform dask
    runyard flow examples/flow/lines_flow.py:lines_summary --set extract.workers=3 \
        --set summarise.params.top=5

or from Python:

    from runyard.engine.flows import Local
    from lines_flow import lines_summary      # with examples/flow on sys.path

    task = Local(lines_summary())
    task.prepare()
    run_id = task.run()
    for result in task.results(run_id):
        print(result.alias, result.status, [p.name for p in result.outputs])
    task.stop()
"""

from runyard.engine.flows import flow, op


@flow
def lines_summary():
    # paths are relative to this file; the alias of each step is its module's stem
    lines = op("extract.py", instances=["data/*.txt"], workers=2)
    return op("summarise.py", lines.outputs("*.lines"), params={"top": 3})
