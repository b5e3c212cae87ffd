"""One module per kind of state change; each command is a small dataclass of its inputs,
declared once (see ``base``). Importing this package registers every command in ``COMMANDS``."""
from .base import COMMANDS, Applied, CaseCommand, Command, TaskCommand
from .cases import AttachMaterial, CopyCase, ReceiveDeferredMaterial, RecordMaterials
from .applicant import RateService, SubmitSupplement, WithdrawApplication
from .catalogue import EditGuide
from .clocks import (DecideExtension, ExtendDeadline, ReceiveSupplement, RequestExtension, RequestSupplement,
                     ResumeClocks, SuspendClocks)
from .deadlines import FireDeadline, RecomputeDeadlines, RecordDeadlineFailure
from .start_case import StartCase
from .supervision import (AcknowledgeRefusal, CloseFinding, ConfirmFinding, DecideWarning, DetectFindings,
                          ExplainFinding, IssueWarning, RequestExplanation)
from .versions import MigrateCase
from .operations import (CorrectCaseData, ResolveDeadline, ResumeCase, ResumeItem, RetryDeadline, RewindCase,
                         SkipTask, SuspendCase, SuspendItem, TerminateCase, VoidCase)
from .tasks import (AddCosigner, ClaimTask, CompleteTask, DelegateTask, HandBackTask, ReleaseTask, ReturnTask,
                    SaveDraft, TakeBackTask, TransferTask, UrgeTask)

__all__ = ["Applied", "CaseCommand", "Command", "TaskCommand", "StartCase", "CompleteTask",
           "ClaimTask", "ReleaseTask", "RequestSupplement", "ReceiveSupplement", "SuspendClocks",
           "ResumeClocks", "ExtendDeadline", "FireDeadline", "RecomputeDeadlines", "TransferTask", "UrgeTask",
           "SaveDraft", "CopyCase", "RequestExtension", "DecideExtension",
           "RecordMaterials", "ReceiveDeferredMaterial", "AttachMaterial", "ReturnTask", "TakeBackTask", "AddCosigner", "DelegateTask",
           "HandBackTask", "RecordDeadlineFailure", "DetectFindings", "AcknowledgeRefusal", "RequestExplanation",
           "ExplainFinding", "MigrateCase", "ConfirmFinding", "CloseFinding", "IssueWarning", "DecideWarning", "COMMANDS"]
from .organisation import (AddDepartment, AddUser, DeactivateDepartment, DeactivateUser, EditUser, MoveDepartment,  # noqa: E402
                           ReactivateDepartment, ReactivateUser, ReassignTask, RenameDepartment,
                           ResetApplicantPassword, ResetPassword, SetBackup)

__all__ += ["AddDepartment", "AddUser", "DeactivateDepartment", "DeactivateUser", "EditUser", "MoveDepartment",
            "ReactivateDepartment", "ReactivateUser", "ReassignTask", "RenameDepartment", "ResetPassword", "SetBackup",
            "ResetApplicantPassword",
            "EditGuide",
            "SuspendCase", "ResumeCase", "TerminateCase", "VoidCase", "RewindCase", "SkipTask", "CorrectCaseData",
            "RetryDeadline", "ResolveDeadline", "SuspendItem", "ResumeItem", "SubmitSupplement", "RateService", "WithdrawApplication"]
