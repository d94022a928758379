"""Update masks (AIP-134): which fields an Update may touch, checked before anything is written."""

from __future__ import annotations

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from aiops.validation import Violations


def resolve_update_mask(
    mask: FieldMask,
    resource: Message,
    *,
    prefix: str,
    updatable: frozenset[str],
    immutable: frozenset[str] = frozenset(),
    output_only: frozenset[str] = frozenset(),
) -> list[str]:
    """The fields to copy from `resource`: the mask's paths, `*` for every updatable field, or
    when the mask is empty, the updatable fields the request sets. Bad paths raise, all at once."""
    violations = Violations()
    if not mask.paths:
        paths = [field.name for field, _ in resource.ListFields() if field.name in updatable]
        for name in sorted({field.name for field, _ in resource.ListFields()} & output_only):
            violations.add(f"{prefix}.{name}", "output only: the server sets it")
        violations.raise_if_any()
        return paths
    paths = []
    for path in mask.paths:
        if path == "*":
            paths.extend(sorted(updatable))
        elif path in updatable:
            paths.append(path)
        elif path in output_only:
            violations.add("update_mask", f"{path!r} is output only: the server sets it")
        elif path in immutable:
            violations.add("update_mask", f"{path!r} cannot change after creation")
        else:
            known = ", ".join(sorted(updatable))
            violations.add(
                "update_mask", f"unknown or not updatable field {path!r}; known: {known}"
            )
    violations.raise_if_any()
    return sorted(set(paths))


def copy_fields(source: Message, destination: Message, paths: list[str]) -> None:
    """Copies top-level fields; an unset message field in `source` clears it in `destination`."""
    FieldMask(paths=paths).MergeMessage(
        source, destination, replace_message_field=True, replace_repeated_field=True
    )
