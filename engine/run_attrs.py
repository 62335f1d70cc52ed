"""The attribute methods of ``Run``: metadata, tags, the monitored pid, folder details."""

from .errors import UnreadableRun, UsageError, usage_errors
from .meta import update_attrs
from .validate import check_tags, flat_metadata


class AttributesMixin:
    def _update(self, change, message: str) -> bool:
        try:
            self._attrs = update_attrs(self._paths.meta_dir, change, message)
        except (OSError, UnreadableRun) as exc:  # a run spoiled under us: not misuse
            return self._operational("updating attributes", exc)
        return True

    def update_metadata(self, metadata: dict) -> bool:
        """Add or replace metadata keys; the others are kept."""
        gate = self._gate("update_metadata", "created", "running")
        if gate is not None:
            return gate
        with usage_errors():
            metadata = flat_metadata(metadata)
        return self._update(lambda a: a["metadata"].update(metadata),
                            f"Updated metadata {', '.join(metadata)}")

    def update_tags(self, tags: list) -> bool:
        """Add tags to the run's tags."""
        gate = self._gate("update_tags", "created", "running")
        if gate is not None:
            return gate
        with usage_errors():
            tags = check_tags(tags)

        def change(attrs):
            attrs["tags"] = check_tags(attrs.get("tags", []) + tags)

        return self._update(change, f"Added tags {', '.join(tags)}")

    def set_pid(self, pid: int) -> bool:
        """Monitor process ``pid`` (and its children) for resource metrics."""
        gate = self._gate("set_pid", "created", "running")
        if gate is not None:
            return gate
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise UsageError(f"pid must be a positive int, got {pid!r}")
        self._pid = pid
        if self._resources is not None:
            self._resources.watch(pid)
        return True

    def set_folder_details(self, path: str | None = None, metadata: dict | None = None,
                           tags: list | None = None, description: str | None = None) -> bool:
        """Set a folder's metadata, tags and description (the run's folder by default).
        Reference 002 puts ``path`` first, simvue 2.6.2 has no ``path``: a dict
        first is Simvue's ``(metadata, tags, description)``."""
        gate = self._gate("set_folder_details", "created", "running")
        if gate is not None:
            return gate
        if isinstance(path, dict) and description is None:
            path, metadata, tags, description = None, path, metadata, tags
        if path is not None and not isinstance(path, str):
            raise UsageError(f"set_folder_details path must be a folder like '/a/b', got "
                             f"{path!r}"[:300])
        from .folders import set_folder_details

        try:
            with usage_errors():
                set_folder_details(self._paths.root, path or self._attrs["folder"],
                                   metadata=metadata, tags=tags, description=description)
        except OSError as exc:
            return self._operational("set_folder_details", exc)
        return True

    def set_tags(self, tags: list) -> bool:
        """Replace the run's tags (``update_tags`` adds to them)."""
        gate = self._gate("set_tags", "created", "running")
        if gate is not None:
            return gate
        with usage_errors():
            tags = check_tags(tags)
        return self._update(lambda a: a.update(tags=tags), "Set tags " + ", ".join(tags))

    def set_metric_units(self, metric_name: str, *, units: str, mks_unit: str | None = None,
                         mks_conversion: float | None = None) -> bool:
        """Record a metric's units, shown by ``runyard show`` (engine/units.py)."""
        gate = self._gate("set_metric_units", "created", "running")
        if gate is not None:
            return gate
        from .units import check_units

        entry = check_units(metric_name, units, mks_unit, mks_conversion)

        def change(attrs):
            known = attrs.get("units")
            attrs["units"] = {**(known if isinstance(known, dict) else {}),
                              metric_name: entry}

        return self._update(change, f"Set the units of {metric_name} to {units}")

    def assign_metric_to_grid(self, *, metric_name: str, grid_name: str | None = None,
                              axes_ticks=None, axes_labels: list | None = None) -> bool:
        """Simvue's grid metrics (an ndarray per step) do not fit runyard's format,
        which keeps one number per metric and step: refused, saying so."""
        gate = self._gate("assign_metric_to_grid", "created", "running")
        if gate is not None:
            return gate
        raise UsageError(f"assign_metric_to_grid({metric_name!r}): runyard records one "
                         "number per metric and step, not grids; log each grid point "
                         "under its own name, or save the array with save_object()")
