"""Image-level metrics; defined in :mod:`auditor.metrics` (pure numpy) so that ``reports`` can use them too."""
from iqa.auditor.metrics import (balanced_accuracy, best_threshold_accuracy, confusion_matrix, macro_f1, per_class,
                             precision_recall_f1, roc_auc)

__all__ = ["balanced_accuracy", "best_threshold_accuracy", "confusion_matrix", "macro_f1", "per_class",
           "precision_recall_f1", "roc_auc"]
