"""Checks that an exported SavedModel uses only ops TF Serving's release images run (docs/tf_serving.md).

Allowed: core TensorFlow ops and the TF Text ops TF Text 2.12 registers; never Python-only
ops (``py_function``), ScaNN ops or XLA-only ops (``Xla*``).

Example:
    >>> import tempfile
    >>> def export(function):
    ...     module = tf.Module()
    ...     module.call = tf.function(function, input_signature=[tf.TensorSpec([None], tf.float32)])
    ...     export_dir = tempfile.mkdtemp()
    ...     tf.saved_model.save(module, export_dir)
    ...     return export_dir
    >>> "Mul" in check_servable(export(lambda x: 2.0 * x))
    True
    >>> disallowed_ops(export(lambda x: tf.py_function(lambda v: v, [x], tf.float32)))
    ['EagerPyFunc']
"""
import os
from typing import List, Set

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

# The ops TF Text 2.12.1 registers (what TF Serving links, tensorflow/serving PR #4057), read from
# github.com/tensorflow/text at tag v2.12.1: the targets of `//tensorflow_text:ops_lib` in
# tensorflow_text/BUILD, their `cc_op_defs` files tensorflow_text/core/ops/*.cc, each REGISTER_OP
# name and, for REGISTER_TF_OP_SHIM(kernel), the kernel's `kOpName` in core/kernels/*_template.h.
# At v2.16.1 the same reading adds TFText>RoundRobinGenerateMasks, TFText>RoundRobinTrim and
# TFText>Utf8Binarize, which are exactly the extra ops the installed tensorflow_text 2.16.1 registers.
TF_TEXT_2_12_OPS = frozenset({
    "CaseFoldUTF8", "ConstrainedSequence", "FastBertNormalize", "FastWordpieceTokenizeWithOffsets",
    "FindSourceOffsets", "MaxSpanningTree", "NormalizeUTF8", "NormalizeUTF8WithOffsetsMap",
    "PhraseTokenize", "RegexSplitWithOffsets", "RougeL", "SentenceFragments", "SentenceFragmentsV2",
    "SentencepieceDetokenizeOp", "SentencepieceIdToStringOp", "SentencepieceOp",
    "SentencepieceStringToIdOp", "SentencepieceTokenizeOp", "SentencepieceTokenizeWithOffsetsOp",
    "SentencepieceVocabSizeOp", "SplitMergeTokenizeWithOffsets", "TFText>BoiseTagsToOffsets",
    "TFText>ByteSplitByOffsets", "TFText>ByteSplitWithOffsets", "TFText>FastSentencepieceDetokenize",
    "TFText>FastSentencepieceTokenize", "TFText>FastWordpieceDetokenize", "TFText>NgramsStringJoin",
    "TFText>OffsetsToBoiseTags", "TFText>PhraseDetokenize", "TFText>WhitespaceTokenizeWithOffsetsV2",
    "TokenizerFromLogits", "UnicodeScriptTokenizeWithOffsets", "WhitespaceTokenizeWithOffsets",
    "WordpieceTokenizeWithOffsets",
})
PYTHON_OPS = frozenset({"PyFunc", "EagerPyFunc", "PyFuncStateless"})


def core_ops() -> Set[str]:
    """TensorFlow's own op names: ``tf.raw_ops`` is generated at build time, so loaded libraries
    (``import tensorflow_text``) never add to it."""
    return {name for name in dir(tf.raw_ops) if not name.startswith("_")}


def saved_model_ops(export_dir: str) -> Set[str]:
    """Every op type in every meta graph and in every function of their libraries."""
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    ops, functions = set(), set()
    for meta_graph in proto.meta_graphs:
        graph = meta_graph.graph_def
        ops.update(node.op for node in graph.node)
        for function in graph.library.function:
            functions.add(function.signature.name)
            ops.update(node.op for node in function.node_def)
    return ops - functions


def _disallowed(ops: Set[str]) -> List[str]:
    allowed = core_ops() | TF_TEXT_2_12_OPS
    # Xla* ops run only under XLA compilation, which stock TF Serving does not enable by default.
    return sorted(op for op in ops if op not in allowed or op in PYTHON_OPS or "scann" in op.lower()
                  or op.startswith("Xla"))


def disallowed_ops(export_dir: str) -> List[str]:
    """The SavedModel's ops that are neither core TensorFlow nor TF Text 2.12 ops, plus Python and ScaNN ops."""
    return _disallowed(saved_model_ops(export_dir))


def check_servable(export_dir: str) -> Set[str]:
    """The SavedModel's op set; raises ``ValueError`` naming the model and each op TF Serving cannot run."""
    ops = saved_model_ops(export_dir)
    bad = _disallowed(ops)
    if bad:
        raise ValueError(f"{export_dir}: ops TF Serving (core TensorFlow + TF Text 2.12) cannot run: "
                         f"{', '.join(bad)}")
    return ops
