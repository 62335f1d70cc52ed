"""Writes tests/simvue_run_2_6_2.json: the public methods and properties of
``simvue.Run`` 2.6.2, from ``inspect.signature`` of the real package.

    pip install simvue==2.6.2 && python tests/simvue_signature.py

(simvue 2.6.2 needs pytest>=9.1.1 and the test tools need pytest<9, so the
package cannot be a test dependency: its signature is kept here instead, and
tests/test_simvue_signature.py calls runyard's Run with it.)
"""

import inspect
import json
from pathlib import Path

OUT = Path(__file__).parent / "simvue_run_2_6_2.json"


def describe(run_class) -> dict:
    methods, properties = {}, []
    for name, member in inspect.getmembers(run_class):
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            properties.append(name)
            continue
        params = []
        for param in list(inspect.signature(member).parameters.values())[1:]:
            default = param.default
            if default is not inspect.Parameter.empty:
                try:
                    json.dumps(default)
                except TypeError:
                    default = repr(default)
            params.append({"name": param.name, "kind": param.kind.name,
                           "required": param.default is inspect.Parameter.empty,
                           "default": None if default is inspect.Parameter.empty
                           else default})
        methods[name] = params
    init = list(inspect.signature(run_class.__init__).parameters)[1:]
    return {"init": init, "methods": methods, "properties": properties}


if __name__ == "__main__":
    import simvue
    from simvue import Run

    data = {"version": simvue.__version__ if hasattr(simvue, "__version__") else "2.6.2",
            **describe(Run)}
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(OUT)
