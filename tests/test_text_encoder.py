"""The LSA text encoder: tokenization parity, similarity, zeros, TF-Hub loading and the component."""
import sys
import unicodedata

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
from tfx import v1 as tfx

from components.artifacts import ItemCatalog, TextEncoder
from components.example_gen.executor import write_catalog
from components.text_encoder.component import TextEncoderGen, build_text_encoder, item_texts
from components.text_encoder.export import export_text_encoder, graph_tokenize
from components.text_encoder.lsa import fit_lsa, tokenize
from recgen.data import Item, open_source
from recgen.data.canonical import MalformedRowReport

TEXTS = ["Toy Story (1995) Animation|Children", "Toy Story 2 (1999) Animation|Children",
         "The Shining (1980) Horror", "The Shining: director's cut Horror",
         "Halloween (1978) Horror|Thriller", "Halloween II (1981) Horror",
         "Toy Soldiers (1991) Action", "Story of Women (1988) Drama", "Cars (2006) Animation",
         "Cars 2 (2011) Animation|Children"]


def graph_tokens(texts):
    return [[t.decode() for t in row] for row in graph_tokenize(tf.constant(texts)).to_list()]


def cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def model():
    return fit_lsa(TEXTS, dim=4)


@pytest.fixture(scope="module")
def export_dir(model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("encoder") / "text_encoder")
    export_text_encoder(model, path)
    return path


def test_tokenization_matches_graph_on_sentences():
    texts = ["Toy Story (1995)", "  Amélie: LE fabuleux_destin!! ", "İSTANBUL ΟΔΟΣ straße",
             "a\x00B", "東京物語 1953", "naïve café 😀 x²½", "", "  ,;  "]
    assert graph_tokens(texts) == [tokenize(t) for t in texts]
    assert tokenize("Toy Story (1995)") == ["toy", "story", "1995"]


def test_tokenization_matches_graph_on_every_assigned_code_point():
    chars = [chr(c) for c in range(sys.maxunicode + 1)
             if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    texts = [f"Ab{c}Cd" for c in chars]
    assert graph_tokens(texts) == [tokenize(t) for t in texts]


def test_vocabulary_is_tokens_in_two_texts_most_frequent_first():
    texts = ["b a", "a b c", "a d", "e", "y x", "x y"]
    assert fit_lsa(texts).tokens == ("a", "b", "x", "y")
    assert fit_lsa(texts, vocab_size=3).tokens == ("a", "b", "x")


def test_fit_is_deterministic(model):
    again = fit_lsa(TEXTS, dim=4)
    assert again.tokens == model.tokens
    np.testing.assert_array_equal(again.vectors, model.vectors)


def test_texts_sharing_tokens_are_closer(model):
    toy1, toy2, shining, halloween = model.encode(
        ["Toy Story", "Toy Story 2 Animation", "The Shining Horror", "Halloween Horror"])
    assert cosine(toy1, toy2) > cosine(toy1, shining) + 0.3
    assert cosine(toy1, toy2) > cosine(toy2, halloween) + 0.3
    assert cosine(shining, halloween) > cosine(shining, toy1)


def test_exported_graph_matches_numpy(model, export_dir):
    texts = ["Toy Story", "the SHINING: horror!", "Cars 2", "story story toy", "unknown Cars"]
    loaded = tf.saved_model.load(export_dir)
    np.testing.assert_allclose(loaded(tf.constant(texts)).numpy(), model.encode(texts), atol=1e-5)


def test_empty_and_unknown_texts_give_zeros(export_dir):
    out = tf.saved_model.load(export_dir)(tf.constant(["", "zzz qqq", "  !! ", "Toy"])).numpy()
    np.testing.assert_array_equal(out[:3], 0.0)
    assert np.linalg.norm(out[3]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("texts", [[], ["", " ", "!!"], ["one", "two"]])
def test_empty_vocabulary_encodes_to_zeros_of_dim(texts, tmp_path):
    model = fit_lsa(texts, dim=5)
    assert model.tokens == () and model.dim == 5
    export_text_encoder(model, str(tmp_path))
    out = hub.KerasLayer(str(tmp_path), trainable=False)(tf.constant(["one", ""]))
    assert out.shape == (2, 5)
    np.testing.assert_array_equal(out.numpy(), 0.0)


def test_dim_is_capped_by_vocabulary_and_items():
    assert fit_lsa(["a b", "a b", "a c"], dim=32).dim == 1
    one_token = fit_lsa(["a x", "a y"], dim=32)
    assert one_token.dim == 1 and abs(one_token.encode(["A"])[0, 0]) == pytest.approx(1.0)
    assert fit_lsa(TEXTS, dim=32).dim == len(fit_lsa(TEXTS).tokens) - 1


class Classifier(tf.keras.Model):
    def __init__(self, handle):
        super().__init__()
        self.encoder = hub.KerasLayer(handle, trainable=False)
        self.head = tf.keras.layers.Dense(3)

    def call(self, texts):
        return self.head(self.encoder(texts))


def functional_model(handle):
    texts = tf.keras.Input(shape=(), dtype=tf.string)
    return tf.keras.Model(texts, tf.keras.layers.Dense(3)(hub.KerasLayer(handle, trainable=False)(texts)))


@pytest.mark.parametrize("build", [functional_model, Classifier], ids=["functional", "subclassed"])
def test_hub_layer_in_keras_model_saves_and_reloads(build, model, export_dir, tmp_path):
    texts = tf.constant(["Toy Story", "Halloween II", "", "nothing known"])
    encoded = hub.KerasLayer(export_dir, trainable=False)(texts)
    assert encoded.shape == (4, model.dim)
    np.testing.assert_allclose(encoded.numpy(), model.encode([t.decode() for t in texts.numpy()]), atol=1e-5)
    keras_model = build(export_dir)
    expected = keras_model(texts).numpy()
    serve = tf.function(lambda x: keras_model(x), input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(keras_model, str(tmp_path), signatures={"serving_default": serve})
    reloaded = tf.saved_model.load(str(tmp_path))
    got = reloaded.signatures["serving_default"](texts)
    np.testing.assert_allclose(next(iter(got.values())).numpy(), expected, atol=1e-6)


def catalog(tmp_path, items):
    uri = tmp_path / "catalog"
    uri.mkdir()
    write_catalog(items, str(uri))
    return str(uri)


def test_component_executor_writes_encoder_and_properties(tmp_path):
    items = [Item(str(i), text, ("Comedy",), "") for i, text in enumerate(TEXTS)]
    item_catalog, text_encoder = ItemCatalog(), TextEncoder()
    item_catalog.uri, text_encoder.uri = catalog(tmp_path, items), str(tmp_path / "encoder")
    executor = TextEncoderGen.EXECUTOR_SPEC.executor_class()
    executor.Do({"item_catalog": [item_catalog]}, {"text_encoder": [text_encoder]},
                {"dim": 3, "vocab_size": 5})
    assert text_encoder.get_int_custom_property("vocabulary_size") == 5
    assert text_encoder.get_int_custom_property("dim") == 3
    assert hub.KerasLayer(text_encoder.uri)(tf.constant(["Toy"])).shape == (1, 3)
    spec = TextEncoderGen(item_catalog=tfx.dsl.Channel(type=ItemCatalog))
    assert spec.outputs["text_encoder"].type is TextEncoder


def test_toy_story_movies_are_nearer_to_each_other_than_to_any_horror_film(movielens_small, tmp_path):
    items = list(open_source(movielens_small).items(MalformedRowReport()))
    uri = catalog(tmp_path, items)
    model = build_text_encoder(uri, str(tmp_path / "encoder"), dim=32)
    assert model.dim == 32 and len(model.tokens) > 1000
    vectors = hub.KerasLayer(str(tmp_path / "encoder"))(tf.constant(list(item_texts(uri)))).numpy()
    toy = [i for i, item in enumerate(items) if item.title in ("Toy Story (1995)", "Toy Story 2 (1999)")]
    horror = vectors[[i for i, item in enumerate(items) if "Horror" in item.categories]]
    assert len(toy) == 2 and len(horror) > 100
    toy_pair = float(vectors[toy[0]] @ vectors[toy[1]])
    assert toy_pair > 0.5
    assert toy_pair > (horror @ vectors[toy].T).max()
