"""One module per kind of state change; each command is a small dataclass of its inputs."""
from .base import Applied, Command, CommandContext, OpenCase, TaskCommand
from .cases import CopyCase, RecordMaterials
from .clocks import (DecideExtension, ExtendDeadline, ReceiveSupplement, RequestExtension, RequestSupplement,
                     ResumeClocks, SuspendClocks)
from .deadlines import FireDeadline, RecomputeDeadlines, RecordDeadlineFailure
from .start_case import StartCase
from .tasks import (AddCosigner, ClaimTask, CompleteTask, DelegateTask, HandBackTask, ReleaseTask, ReturnTask,
                    SaveDraft, TakeBackTask, TransferTask, UrgeTask)

#: Every command by its history name: how a recorded history is turned back into commands.
COMMANDS = {cls.type: cls for cls in (StartCase, CompleteTask, ClaimTask, ReleaseTask, RequestSupplement,
                                      ReceiveSupplement, SuspendClocks, ResumeClocks, ExtendDeadline,
                                      FireDeadline, RecomputeDeadlines, TransferTask, UrgeTask, SaveDraft, CopyCase,
                                      RequestExtension, DecideExtension, RecordMaterials, ReturnTask, TakeBackTask,
                                      AddCosigner, DelegateTask, HandBackTask, RecordDeadlineFailure)}

__all__ = ["Applied", "Command", "CommandContext", "OpenCase", "TaskCommand", "StartCase", "CompleteTask",
           "ClaimTask", "ReleaseTask", "RequestSupplement", "ReceiveSupplement", "SuspendClocks",
           "ResumeClocks", "ExtendDeadline", "FireDeadline", "RecomputeDeadlines", "TransferTask", "UrgeTask",
           "SaveDraft", "CopyCase", "RequestExtension", "DecideExtension",
           "RecordMaterials", "ReturnTask", "TakeBackTask", "AddCosigner", "DelegateTask",
           "HandBackTask", "RecordDeadlineFailure", "COMMANDS"]
