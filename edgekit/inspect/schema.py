"""The parts of the TFLite schema (tensorflow/lite/schema/schema.fbs) that edgekit reads.

Field ids are the declaration order of each table in the schema; enum values are the
schema's. Kept as plain constants so the reader needs neither TensorFlow nor the
``flatbuffers`` package.
"""

from __future__ import annotations

from typing import NamedTuple

FILE_IDENTIFIER = b"TFL3"
CUSTOM_OPCODE = 32
# OperatorCode.deprecated_builtin_code is an int8: codes >= 127 live in builtin_code.
PLACEHOLDER_FOR_GREATER_OP_CODES = 127


class Model:
    VERSION, OPERATOR_CODES, SUBGRAPHS, DESCRIPTION, BUFFERS = 0, 1, 2, 3, 4
    METADATA_BUFFER, METADATA, SIGNATURE_DEFS, EXTERNAL_BUFFER_GROUPS, EXTERNAL_BUFFERS = 5, 6, 7, 8, 9


class OperatorCode:
    DEPRECATED_BUILTIN_CODE, CUSTOM_CODE, VERSION, BUILTIN_CODE = 0, 1, 2, 3


class SubGraph:
    TENSORS, INPUTS, OUTPUTS, OPERATORS, NAME = 0, 1, 2, 3, 4


class Tensor:
    SHAPE, TYPE, BUFFER, NAME, QUANTIZATION, IS_VARIABLE, SPARSITY, SHAPE_SIGNATURE = range(8)
    HAS_RANK, VARIANT_TENSORS, EXTERNAL_BUFFER = 8, 9, 10


class Operator:
    OPCODE_INDEX, INPUTS, OUTPUTS, BUILTIN_OPTIONS_TYPE, BUILTIN_OPTIONS = 0, 1, 2, 3, 4
    CUSTOM_OPTIONS, CUSTOM_OPTIONS_FORMAT, MUTATING_VARIABLE_INPUTS, INTERMEDIATES = 5, 6, 7, 8
    LARGE_CUSTOM_OPTIONS_OFFSET, LARGE_CUSTOM_OPTIONS_SIZE = 9, 10


class Buffer:
    DATA, OFFSET, SIZE = 0, 1, 2


class ExternalBufferGroup:
    NAME = 0


class ExternalBuffer:
    ID, GROUP, OFFSET, LENGTH = 0, 1, 2, 3


class QuantizationParameters:
    MIN, MAX, SCALE, ZERO_POINT, DETAILS_TYPE, DETAILS, QUANTIZED_DIMENSION = range(7)


class SparsityParameters:
    TRAVERSAL_ORDER, BLOCK_MAP, DIM_METADATA = 0, 1, 2


class DimensionMetadata:
    FORMAT, DENSE_SIZE, ARRAY_SEGMENTS_TYPE, ARRAY_SEGMENTS = 0, 1, 2, 3
    ARRAY_INDICES_TYPE, ARRAY_INDICES = 4, 5


# DimensionType enum
DENSE, SPARSE_CSR = 0, 1
# SparseIndexVector union: type -> element kind of the one-field table's ``values`` vector
SPARSE_INDEX_VECTOR_KINDS = {1: "int32", 2: "uint16", 3: "uint8"}


class SignatureDef:
    INPUTS, OUTPUTS, SIGNATURE_KEY, SUBGRAPH_INDEX = 0, 1, 2, 4  # id 3 is deprecated


class TensorMap:
    NAME, TENSOR_INDEX = 0, 1


class Metadata:
    NAME, BUFFER = 0, 1


class TensorType(NamedTuple):
    """A TFLite element type: edgekit's dtype name, numpy storage dtype, bits per element."""

    name: str
    storage: str | None  # numpy dtype of the stored elements; None: no numeric view
    bits: int


# TensorType enum, indexed by value. int4/uint4/int2 are packed, low bits first.
TENSOR_TYPES: tuple[TensorType, ...] = (
    TensorType("float32", "float32", 32),
    TensorType("float16", "float16", 16),
    TensorType("int32", "int32", 32),
    TensorType("uint8", "uint8", 8),
    TensorType("int64", "int64", 64),
    TensorType("string", None, 8),
    TensorType("bool", "bool", 8),
    TensorType("int16", "int16", 16),
    TensorType("complex64", "complex64", 64),
    TensorType("int8", "int8", 8),
    TensorType("float64", "float64", 64),
    TensorType("complex128", "complex128", 128),
    TensorType("uint64", "uint64", 64),
    TensorType("resource", None, 0),
    TensorType("variant", None, 0),
    TensorType("uint32", "uint32", 32),
    TensorType("uint16", "uint16", 16),
    TensorType("int4", "int8", 4),
    TensorType("bfloat16", "float32", 16),
    TensorType("int2", "int8", 2),
    TensorType("uint4", "uint8", 4),
    TensorType("float8_e4m3fn", None, 8),
    TensorType("float8_e5m2", None, 8),
)

FLOAT_DTYPES = frozenset(
    {"float32", "float16", "float64", "bfloat16", "complex64", "complex128", "float8_e4m3fn", "float8_e5m2"}
)


def tensor_type(value: int) -> TensorType:
    """The TensorType for an enum value; unknown (newer schema) values get a placeholder."""
    if 0 <= value < len(TENSOR_TYPES):
        return TENSOR_TYPES[value]
    return TensorType(f"type{value}", None, 0)


def builtin_name(code: int) -> str:
    """The BuiltinOperator name for ``code`` (``BUILTIN_<n>`` for codes newer than this table)."""
    return BUILTIN_OPERATORS[code] if 0 <= code < len(BUILTIN_OPERATORS) else f"BUILTIN_{code}"


# BuiltinOperator enum, indexed by value (schema of LiteRT 2.x: 0 .. 209).
BUILTIN_OPERATORS: tuple[str, ...] = (
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
    "DEPTH_TO_SPACE", "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED",
    "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION",
    "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1",
    "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
    "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND",
    "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX",
    "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX",
    "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT",
    "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL",
    "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT",
    "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT",
    "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL",
    "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE",
    "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND",
    "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE",
    "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4",
    "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM",
    "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO",
    "RFFT2D", "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND",
    "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE",
    "READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL",
    "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE",
    "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM",
    "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT",
    "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY",
    "STABLEHLO_MAXIMUM", "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE",
    "STABLEHLO_BROADCAST_IN_DIM", "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE",
    "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS", "STABLEHLO_AND",
    "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG",
    "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR", "STABLEHLO_POWER",
    "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT",
    "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE", "STABLEHLO_CONVERT",
    "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE", "STABLEHLO_PAD",
    "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT",
    "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE",
    "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW", "STABLEHLO_COMPOSITE",
    "STABLEHLO_SHIFT_LEFT", "STABLEHLO_CBRT", "STABLEHLO_CASE",
)
