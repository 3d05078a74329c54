"""The accepted operations of one resource, applied strictly in `seq` order."""

from netprov.operations import OpKind, Operation


class OpQueue:
    def __init__(self, applied_seq: int, pending: list[Operation]) -> None:
        self.applied_seq = applied_seq
        self._ops: dict[int, Operation] = {}
        for op in pending:
            self.add(op)

    def add(self, op: Operation) -> None:
        """Keep `op` unless it was applied already or is a duplicate delivery."""
        if op.seq > self.applied_seq and op.seq not in self._ops:
            self._ops[op.seq] = op

    def next(self) -> Operation | None:
        return self._ops.get(self.applied_seq + 1)

    def has_gap(self) -> bool:
        """Operations are waiting for an earlier one that has not been delivered yet."""
        return bool(self._ops) and self.next() is None

    def has_delete(self) -> bool:
        return any(op.kind == OpKind.DELETE for op in self._ops.values())

    def done(self, seq: int) -> None:
        self.applied_seq = max(self.applied_seq, seq)
        for applied in [s for s in self._ops if s <= self.applied_seq]:
            del self._ops[applied]

    def skip_to_delete(self) -> Operation | None:
        """Drop everything before the first delete (it supersedes them) and return the delete."""
        deletes = sorted(s for s, op in self._ops.items() if op.kind == OpKind.DELETE)
        if not deletes:
            return None
        self.done(deletes[0] - 1)
        return self._ops[deletes[0]]

    def pending(self) -> list[Operation]:
        return [self._ops[s] for s in sorted(self._ops)]

    def __len__(self) -> int:
        return len(self._ops)
