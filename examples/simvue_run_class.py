"""Reference 002 (Simvue's Run class): every method, called as documented there,
with only the import changed.

    RUNYARD_ROOT=./runs python examples/simvue_run_class.py
"""

import os
import subprocess
import tempfile

from runyard.engine import Run

work = tempfile.mkdtemp()
with open(os.path.join(work, 'input.txt'), 'w') as f:
    f.write('initial conditions\n')
os.makedirs(os.path.join(work, 'results'))
for i in range(2):
    with open(os.path.join(work, 'results', f'part{i}.dat'), 'w') as f:
        f.write(f'{i}\n')

run = Run(mode='online')
run.config(suppress_errors=True, queue_blocking=False, queue_size=10000,
           disable_resources_metrics=False, resources_metrics_interval=30)
run.init(name='reference-002', metadata={'solver': 'cg', 'tolerance': 1e-6},
         tags=['reference'], description='Every Run method', folder='/reference',
         running=True)
solver = subprocess.Popen(['sleep', '1'])
run.set_pid(solver.pid)
run.update_metadata({'mesh': 'fine'})
run.update_tags(['checked'])
run.add_alert(name='residual-high', source='metrics', frequency=1, window=2,
              rule='is above', metric='residual', threshold=1.0, notification='none')
run.add_alert(name='diverged', source='events', frequency=1, pattern='diverged')
for step in range(10):
    run.log_metrics({'residual': 1.0 / (step + 1), 'energy': 10.0 - step})
run.log_metrics({'residual': 0.05}, step=20, time=42.0,
                timestamp='2024-01-01 12:00:00.000000')
run.log_event('Solver converged')
run.log_event('Checkpoint', timestamp='2024-01-01 12:00:01.000000')
run.save(os.path.join(work, 'input.txt'), 'input', filetype='text/plain')
run.save({'a': 1}, 'output', name='parameters.json')
run.save_directory(os.path.join(work, 'results'), 'output', preserve_path=False)
run.save_all([os.path.join(work, 'input.txt'), os.path.join(work, 'results')], 'code')
run.set_folder_details(path='/reference', metadata={'owner': 'docs'}, tags=['docs'],
                       description='Runs made from the reference')
run.set_status('completed')
run.close()
solver.wait()
print(run.name)
