"""Reference 002 (Simvue's Run class): every method, called with the keyword
names that document gives, with only the import changed.

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

# A run defined now and started later, by name
queued = Run(mode='online')
queued.init(name='reference-002', metadata={'solver': 'cg', 'tolerance': 1e-6},
            tags=['reference'], description='Every Run method', folder='/reference',
            running=False)

run = Run(mode='online')
run.config(suppress_errors=True, queue_blocking=False, queue_size=10000,
           disable_resources_metrics=False, resources_metrics_interval=30)
run.reconnect(name='reference-002')
solver = subprocess.Popen(['sleep', '1'])
run.set_pid(pid=solver.pid)
run.update_metadata(metadata={'mesh': 'fine'})
run.update_tags(tags=['checked'])
run.add_alert(name='residual-high', source='metrics', frequency=1, window=2,
              rule='is above', metric='residual', threshold=1.0, notification='none')
run.add_alert(name='energy-range', source='metrics', frequency=1, window=2,
              rule='is outside range', metric='energy', range_low=0.0, range_high=5.0)
run.add_alert(name='diverged', source='events', frequency=1, pattern='diverged')
for step in range(10):
    run.log_metrics(metrics={'residual': 10.0 / (step + 1), 'energy': 10.0 - step})
run.log_metrics(metrics={'residual': 0.05}, step=20, time=42.0,
                timestamp='2024-01-01 12:00:00.000000')
run.log_event(message='Solver diverged at step 3, restarted with a smaller step')
run.log_event(message='Solver converged')
run.log_event(message='Checkpoint', timestamp='2024-01-01 12:00:01.000000')
run.save(filename=os.path.join(work, 'input.txt'), category='input',
         filetype='text/plain', preserve_path=False)
run.save(filename={'a': 1}, category='output', name='parameters.json',
         allow_pickle=False)
run.save_directory(directory=os.path.join(work, 'results'), category='output',
                   filetype='text/plain', preserve_path=False)
run.save_all(directory=[os.path.join(work, 'input.txt'), os.path.join(work, 'results')],
             category='code', filetype='text/plain', preserve_path=False)
run.set_folder_details(path='/reference', metadata={'owner': 'docs'}, tags=['docs'],
                       description='Runs made from the reference')
run.set_status(status='completed')
run.close()
solver.wait()
print(run.name)
