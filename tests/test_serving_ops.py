"""The exported-graph op check: core and TF Text 2.12 ops pass; Python, ScaNN, XLA and newer TF Text ops fail."""
import pytest
import tensorflow as tf
import tensorflow_text as text
from tensorflow.core.protobuf import saved_model_pb2

from components.text_encoder.export import export_text_encoder
from components.text_encoder.lsa import fit_lsa
from recgen.contracts.serving_ops import TF_TEXT_2_12_OPS, check_servable, core_ops, disallowed_ops, saved_model_ops

STRINGS = tf.TensorSpec([None], tf.string)


def save(fn, path, spec=STRINGS):
    module = tf.Module()
    module.f = tf.function(fn, input_signature=[spec])
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.f})
    return str(path)


def test_core_ops_model_passes_and_ops_come_from_nested_functions(tmp_path):
    path = save(lambda x: tf.cond(tf.reduce_sum(x) > 0, lambda: tf.math.cumsum(x), lambda: x * 2.0),
                tmp_path, tf.TensorSpec([None], tf.float32))
    ops = check_servable(path)
    assert {"Cumsum", "Mul", "StatelessIf", "StatefulPartitionedCall"} <= ops
    assert not [op for op in ops if op.startswith("__inference")]
    assert disallowed_ops(path) == []


def test_py_function_fails_naming_eager_py_func(tmp_path):
    path = save(lambda x: tf.py_function(lambda s: s, [x], tf.string), tmp_path)
    assert disallowed_ops(path) == ["EagerPyFunc"]
    with pytest.raises(ValueError, match=rf"{path}.*EagerPyFunc"):
        check_servable(path)


def test_xla_only_ops_fail(tmp_path):
    """keras's slice_update uses XlaDynamicUpdateSlice, which needs XLA JIT in the server."""
    from tensorflow.compiler.tf2xla.python.xla import dynamic_update_slice
    path = save(lambda x: dynamic_update_slice(x, tf.ones([1]), [0]), tmp_path, tf.TensorSpec([None], tf.float32))
    assert disallowed_ops(path) == ["XlaDynamicUpdateSlice"]


def test_tf_text_2_12_ops_pass(tmp_path):
    wordpiece = text.FastWordpieceTokenizer(["a", "##b", "[UNK]"], support_detokenization=True)

    def tokenize(x):
        words = text.regex_split(text.case_fold_utf8(x), r"\s")
        return wordpiece.detokenize(wordpiece.tokenize(words))

    ops = check_servable(save(tokenize, tmp_path))
    assert {"CaseFoldUTF8", "RegexSplitWithOffsets", "FastWordpieceTokenizeWithOffsets",
            "TFText>FastWordpieceDetokenize"} <= ops


def test_tf_text_op_added_after_2_12_fails(tmp_path):
    path = save(lambda x: text.utf8_binarize(x), tmp_path)
    assert disallowed_ops(path) == ["TFText>Utf8Binarize"]
    assert "TFText>RoundRobinTrim" not in TF_TEXT_2_12_OPS


def test_core_ops_exclude_tf_text_and_library_ops_even_after_import():
    assert "CaseFoldUTF8" not in core_ops() and "TFText>RoundRobinTrim" not in core_ops()
    assert {"StringSplitV2", "StaticRegexReplace", "LookupTableFindV2", "PyFunc"} <= core_ops()


def test_python_and_scann_ops_fail_and_library_function_calls_are_not_ops(tmp_path):
    proto = saved_model_pb2.SavedModel()
    graph = proto.meta_graphs.add().graph_def
    graph.node.add(name="call", op="__inference_f_12")
    function = graph.library.function.add()
    function.signature.name = "__inference_f_12"
    for op in ("PyFunc", "ScannSearchBatched", "Identity"):
        function.node_def.add(name=op.lower(), op=op)
    proto.meta_graphs.add().graph_def.node.add(name="py", op="PyFuncStateless")
    (tmp_path / "saved_model.pb").write_bytes(proto.SerializeToString())
    assert saved_model_ops(str(tmp_path)) == {"PyFunc", "ScannSearchBatched", "Identity", "PyFuncStateless"}
    assert disallowed_ops(str(tmp_path)) == ["PyFunc", "PyFuncStateless", "ScannSearchBatched"]


def test_text_encoder_passes(tmp_path):
    export_text_encoder(fit_lsa(["toy story", "toy story 2", "the shining", "the shining 2"]),
                        str(tmp_path))
    ops = check_servable(str(tmp_path))
    assert {"StaticRegexReplace", "StringSplitV2", "LookupTableFindV2", "UnsortedSegmentSum"} <= ops
    assert saved_model_ops(str(tmp_path)) == ops
