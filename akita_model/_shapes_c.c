/*
 * The shape key of a JSON value, as akita_model.shapes.shape computes it.
 *
 * Every body of every witness is walked to learn its shape key, and the walk
 * costs more than anything else a witness needs but parsing its JSON. This
 * module does that walk in C over the parsed value: the same masked
 * arithmetic, the same keys, bit for bit (a test compares the two on random
 * values). It leaves the formats of strings to Python: this module makes
 * shapes._string_key's first test, which tells most strings to have none,
 * and hands every other string to the function that configure() was given
 * (shapes._format_key).
 *
 * All arithmetic is on unsigned 64-bit integers, masked to 62 bits before
 * each shift, which keeps exactly the low bits that the Python code keeps.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MASK ((UINT64_C(1) << 62) - 1)
#define OBJECT_SEED UINT64_C(0x1F3D5B79)
#define ARRAY_SEED UINT64_C(0x2E4C6A88)
#define KEY_FACTOR UINT64_C(0x100000001B3)
#define VALUE_FACTOR UINT64_C(0x5BD1E995)
#define BOOL_KEY UINT64_C(0x51)
#define INT_KEY UINT64_C(0x52)
#define FLOAT_KEY UINT64_C(0x53)
#define OTHER_KEY UINT64_C(0x54)
/* A failed walk; real keys are below 2**62. */
#define FAILED UINT64_MAX

static PyObject *string_key = NULL; /* shapes._format_key */
static PyObject *too_deep = NULL;   /* shapes.TooDeep */
static Py_ssize_t max_depth = 32;   /* shapes.MAX_DEPTH */
static uint64_t plain_key = 0;      /* the key of a string with no format */

static uint64_t mix(uint64_t value)
{
    value = ((value ^ (value >> 31)) * UINT64_C(0x2545F4914F6CDD1D)) & MASK;
    value = ((value ^ (value >> 29)) * UINT64_C(0x369DEA0F31A53F85)) & MASK;
    return value ^ (value >> 32);
}

/* Tell whether a string may have a format: shapes._string_key's first test.
 * The string is ready (text_key made sure). */
static int may_have_format(PyObject *text)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if (length == 36) {
        return 1;
    }
    if (kind == PyUnicode_1BYTE_KIND) {
        if (memchr(data, ':', (size_t)length) || memchr(data, '@', (size_t)length)) {
            return 1;
        }
    }
    else {
        for (Py_ssize_t index = 0; index < length; index++) {
            Py_UCS4 ch = PyUnicode_READ(kind, data, index);
            if (ch == ':' || ch == '@') {
                return 1;
            }
        }
    }
    if (length == 0) {
        return 0;
    }
    Py_UCS4 first = PyUnicode_READ(kind, data, 0);
    return first == '-' || Py_UNICODE_ISDIGIT(first);
}

static uint64_t text_key(PyObject *text)
{
    if (PyUnicode_READY(text) == -1) {
        return FAILED;
    }
    if (!may_have_format(text)) {
        return plain_key;
    }
    PyObject *key = PyObject_CallOneArg(string_key, text);
    if (key == NULL) {
        return FAILED;
    }
    Py_hash_t hash = PyObject_Hash(key);
    Py_DECREF(key);
    if (hash == -1 && PyErr_Occurred()) {
        return FAILED;
    }
    return (uint64_t)hash & MASK;
}

static uint64_t value_key(PyObject *value, Py_ssize_t depth);

static uint64_t object_key(PyObject *value, Py_ssize_t depth)
{
    Py_ssize_t size = PyDict_GET_SIZE(value);
    if (depth >= max_depth && size) {
        PyErr_SetNone(too_deep);
        return FAILED;
    }
    uint64_t key = OBJECT_SEED;
    Py_ssize_t position = 0;
    PyObject *name, *item;
    while (PyDict_Next(value, &position, &name, &item)) {
        Py_hash_t hash = PyObject_Hash(name);
        if (hash == -1 && PyErr_Occurred()) {
            return FAILED;
        }
        key = ((key ^ ((uint64_t)hash & MASK)) * KEY_FACTOR) & MASK;
        uint64_t item_key = value_key(item, depth + 1);
        if (item_key == FAILED) {
            return FAILED;
        }
        key = ((key ^ item_key) * VALUE_FACTOR) & MASK;
    }
    return mix(key ^ (uint64_t)size);
}

static int compare_keys(const void *left, const void *right)
{
    uint64_t a = *(const uint64_t *)left, b = *(const uint64_t *)right;
    return (a > b) - (a < b);
}

static uint64_t array_key(PyObject *value, Py_ssize_t depth)
{
    Py_ssize_t size = PyList_GET_SIZE(value);
    if (depth >= max_depth && size) {
        PyErr_SetNone(too_deep);
        return FAILED;
    }
    if (!size) {
        return ARRAY_SEED;
    }
    uint64_t first = value_key(PyList_GET_ITEM(value, 0), depth + 1);
    if (first == FAILED) {
        return FAILED;
    }
    /* The keys unlike the first, kept only when there are any: most arrays
     * hold items of one shape. */
    uint64_t *others = NULL;
    Py_ssize_t count = 0;
    for (Py_ssize_t index = 1; index < PyList_GET_SIZE(value); index++) {
        uint64_t key = value_key(PyList_GET_ITEM(value, index), depth + 1);
        if (key == FAILED) {
            PyMem_Free(others);
            return FAILED;
        }
        if (key == first) {
            continue;
        }
        if (others == NULL) {
            others = PyMem_Malloc(sizeof(uint64_t) * (size_t)size);
            if (others == NULL) {
                PyErr_NoMemory();
                return FAILED;
            }
        }
        others[count++] = key;
    }
    uint64_t total = mix(first);
    if (others != NULL) {
        qsort(others, (size_t)count, sizeof(uint64_t), compare_keys);
        for (Py_ssize_t index = 0; index < count; index++) {
            if (index == 0 || others[index] != others[index - 1]) {
                total = (total + mix(others[index])) & MASK;
            }
        }
        PyMem_Free(others);
    }
    return mix(total ^ ARRAY_SEED);
}

/* The key of a value at a depth; containers are walked at that depth. */
static uint64_t value_key(PyObject *value, Py_ssize_t depth)
{
    PyTypeObject *kind = Py_TYPE(value);
    if (kind == &PyUnicode_Type) {
        return text_key(value);
    }
    if (kind == &PyLong_Type) {
        return INT_KEY;
    }
    if (kind == &PyDict_Type) {
        return object_key(value, depth);
    }
    if (kind == &PyList_Type) {
        return array_key(value, depth);
    }
    if (kind == &PyBool_Type) {
        return BOOL_KEY;
    }
    if (kind == &PyFloat_Type) {
        return FLOAT_KEY;
    }
    return OTHER_KEY;
}

static PyObject *shape(PyObject *module, PyObject *value)
{
    if (string_key == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_shapes_c.configure() was not called");
        return NULL;
    }
    uint64_t key = value_key(value, 0);
    if (key == FAILED) {
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(key);
}

static PyObject *configure(PyObject *module, PyObject *args)
{
    PyObject *new_string_key, *new_too_deep;
    Py_ssize_t new_max_depth;
    if (!PyArg_ParseTuple(args, "OOn", &new_string_key, &new_too_deep, &new_max_depth)) {
        return NULL;
    }
    if (!PyCallable_Check(new_string_key)) {
        PyErr_SetString(PyExc_TypeError, "string_key must be callable");
        return NULL;
    }
    if (!PyType_Check(new_too_deep) ||
        !PyType_IsSubtype((PyTypeObject *)new_too_deep, (PyTypeObject *)PyExc_Exception)) {
        PyErr_SetString(PyExc_TypeError, "too_deep must be an exception class");
        return NULL;
    }
    PyObject *plain = PyUnicode_FromString("s");
    if (plain == NULL) {
        return NULL;
    }
    Py_hash_t hash = PyObject_Hash(plain);
    Py_DECREF(plain);
    if (hash == -1) {
        return NULL;
    }
    Py_INCREF(new_string_key);
    Py_XSETREF(string_key, new_string_key);
    Py_INCREF(new_too_deep);
    Py_XSETREF(too_deep, new_too_deep);
    max_depth = new_max_depth;
    plain_key = (uint64_t)hash & MASK;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"shape", shape, METH_O,
     "shape(value) -> int: the shape key of a JSON value, as shapes.shape."},
    {"configure", configure, METH_VARARGS,
     "configure(string_key, too_deep, max_depth): what shape() calls and raises."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "_shapes_c",
    "The shape keys of JSON values, computed in C (see akita_model.shapes).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__shapes_c(void)
{
    return PyModule_Create(&module_definition);
}
