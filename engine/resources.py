"""Resource metrics: CPU and memory of the run's process and its children (psutil),
and GPU utilisation and memory through NVML when a GPU is present.

Sampled on the writer thread every ``resources_metrics_interval`` seconds and
logged as ordinary metrics named ``resources/...``.
"""

import logging
import time

import psutil

from .series import encode_point

log = logging.getLogger("runyard")


class ResourceSampler:
    def __init__(self, run, interval: float):
        self._run = run
        self._interval = interval
        self._step = 0
        self._procs: dict[int, psutil.Process] = {}
        self._root: psutil.Process | None = None
        self._gpus = _nvml_handles()
        self.watch(run._pid)
        self._next = time.time() + interval  # CPU percentages need a full interval

    def watch(self, pid: int) -> None:
        self.pid = pid
        try:
            self._root = psutil.Process(pid)
            self._root.cpu_percent(None)  # the first reading only starts the clock
        except psutil.Error:
            self._root = None
        self._procs = {}

    def tick(self, now: float) -> None:
        if now < self._next:
            return
        self._next = now + self._interval
        values = self.sample()
        if values:
            seconds = (time.monotonic_ns() - self._run._t0_ns) // 1000 / 1e6
            self._run._writer.put_line(encode_point((self._step, seconds, time.time(), values)))
            self._step += 1

    def sample(self) -> dict:
        values: dict = {}
        if self._root is not None:
            cpu, rss = self._process_tree()
            values["resources/cpu.usage.percentage"] = round(cpu, 2)
            values["resources/memory.usage"] = round(rss / 2**20, 3)  # MiB
        for index, handle in enumerate(self._gpus):
            values.update(_gpu_values(index, handle))
        return values

    def _process_tree(self) -> tuple[float, int]:
        try:
            members = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return 0.0, 0
        cpu, rss = 0.0, 0
        current: dict[int, psutil.Process] = {}
        for proc in members:
            known = self._procs.get(proc.pid, proc)
            try:
                percent = known.cpu_percent(None)
                rss += known.memory_info().rss
            except psutil.Error:
                continue
            if proc.pid in self._procs or proc is self._root:
                cpu += percent  # a new child's first reading is not a measurement
            current[proc.pid] = known
        self._procs = current
        return cpu, rss


def _nvml_handles() -> list:
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
        return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except pynvml.NVMLError as exc:
        log.debug("runyard: no GPU metrics: %s", exc)
        return []


def _gpu_values(index: int, handle) -> dict:
    import pynvml

    try:
        util = pynvml.nvmlDeviceGetUtilizationRates(handle)
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    except pynvml.NVMLError:
        return {}
    return {f"resources/gpu.utilisation.percentage.{index}": util.gpu,
            f"resources/gpu.memory.usage.{index}": round(memory.used / 2**20, 3)}
