"""Reference 001 (Simvue's overview), run unchanged but for the import.

    RUNYARD_ROOT=./runs python examples/simvue_overview.py
"""

from runyard.engine import Run

# Initialisation
run = Run()
run.init(name='my-first-run',
         metadata={'environment': 'test'},
         tags=['test'],
         description='This is a test',
         folder='/tests')

# Updating tags and metadata
run.update_tags(['unconverged'])
run.update_metadata({'status': 'unconverged'})

# Ending the run
run.close()

# Tracking queued runs
name = 'queued-run'
run = Run()
run.init(name=name, status='created')

run = Run()
run.init(status='created')
name = run.name

run = Run()
run.reconnect(name)
run.log_metrics({'residual': 0.1})
run.close()

# Multiple runs in one code: a context manager per run
for index in range(3):
    with Run() as run:
        run.init(metadata={'index': index}, folder='/scan')
        run.log_metrics({'value': index})

# offline: nothing is sent anywhere, everything is written to disk (the spool)
with Run() as run:
    run.init(name='offline-run', offline=True)
    run.log_metrics({'value': 1})
