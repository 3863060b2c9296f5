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
 * (shapes._format_key), except date-times in the form most traces write
 * them, whose key it knows (is_common_date_time).
 *
 * text_shape() gives the same key for the text of a JSON value, read
 * without making any Python value of it: a body is parsed only when its
 * shape is new to its operation (see shapes.RecentBodies.new_text).
 *
 * All arithmetic is on unsigned 64-bit integers, masked to 62 bits before
 * each shift, which keeps exactly the low bits that the Python code keeps.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_json_bytes.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
static uint64_t date_time_key = 0;  /* the key of a date-time */

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

static int two_digits(const Py_UCS1 *text, int *value)
{
    if (text[0] < '0' || text[0] > '9' || text[1] < '0' || text[1] > '9') {
        return 0;
    }
    *value = (text[0] - '0') * 10 + (text[1] - '0');
    return 1;
}

/* Tell whether a string is a date-time in the form most traces write:
 * YYYY-MM-DDThh:mm:ss, a fraction of 1 to 9 digits or none, and Z, +hh:mm,
 * -hh:mm or no offset, each field in its range. Every such string is one
 * that shapes._format_key calls "date-time"; other strings, date-times in
 * other forms among them, are left to it. Timestamps are the strings most
 * often handed to it, and most are unique. */
static int is_common_date_time(const Py_UCS1 *text, Py_ssize_t length)
{
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int century, year, month, day, hour, minute, second;
    if (length < 19 || length > 35 || text[4] != '-' || text[7] != '-' ||
        text[10] != 'T' || text[13] != ':' || text[16] != ':') {
        return 0;
    }
    if (!two_digits(text, &century) || !two_digits(text + 2, &year) ||
        !two_digits(text + 5, &month) || !two_digits(text + 8, &day) ||
        !two_digits(text + 11, &hour) || !two_digits(text + 14, &minute) ||
        !two_digits(text + 17, &second)) {
        return 0;
    }
    year += century * 100;
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > month_days[month - 1] ||
        hour > 23 || minute > 59 || second > 59) {
        return 0;
    }
    int is_leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !is_leap) {
        return 0;
    }
    Py_ssize_t at = 19;
    if (at < length && text[at] == '.') {
        Py_ssize_t first = ++at;
        while (at < length && text[at] >= '0' && text[at] <= '9') {
            at++;
        }
        if (at - first < 1 || at - first > 9) {
            return 0;
        }
    }
    Py_ssize_t zone = length - at;
    if (zone == 0) {
        return 1;
    }
    if (zone == 1) {
        return text[at] == 'Z';
    }
    int zone_hours, zone_minutes;
    return zone == 6 && (text[at] == '+' || text[at] == '-') && text[at + 3] == ':' &&
           two_digits(text + at + 1, &zone_hours) &&
           two_digits(text + at + 4, &zone_minutes) && zone_hours <= 23 &&
           zone_minutes <= 59;
}

/* The key of the format string_key gives a string. */
static uint64_t format_key(PyObject *text)
{
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

static uint64_t text_key(PyObject *text)
{
    if (PyUnicode_READY(text) == -1) {
        return FAILED;
    }
    if (!may_have_format(text)) {
        return plain_key;
    }
    if (PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND &&
        is_common_date_time(PyUnicode_1BYTE_DATA(text), PyUnicode_GET_LENGTH(text))) {
        return date_time_key;
    }
    return format_key(text);
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

/*
 * The shape key of a JSON text, without parsing it into Python values.
 *
 * text_shape() reads the text of a body as JSON and gives the key that
 * shape() would give for the parsed value, or None when it cannot tell:
 * the text is not JSON, or holds something this reader leaves to a real
 * parser (see below). A body is then parsed only when its shape is new to
 * its operation. Whatever this reader takes for JSON is JSON: it reads the
 * grammar of RFC 8259, strictly, and gives up on every text that orjson
 * reads otherwise or might refuse:
 *   - texts with characters beyond U+00FF (their strings are not stored a
 *     byte a character, which the key hashing below relies on);
 *   - integers of more than 18 digits (orjson reads those past 64 bits as
 *     floats), numbers longer than MAX_NUMBER characters and exponents of
 *     more than two digits (which orjson may refuse as infinite);
 *   - escapes it cannot decode to a string (a lone surrogate);
 *   - values nested deeper than max_depth, as shape() would refuse them.
 * An object that names a key twice gets a key of its own (the parsed
 * object would keep one of them); two texts with the same key still teach
 * a schema the same.
 */
#define GIVE_UP (UINT64_MAX - 1)
#define MAX_NUMBER 200
#define MAX_INT_DIGITS 18
/* The item keys of an array held on the stack before any allocation. */
#define STACK_KEYS 16

typedef struct {
    const Py_UCS1 *at;
    const Py_UCS1 *end;
} Reader;

static void skip_space(Reader *reader)
{
    while (reader->at < reader->end) {
        Py_UCS1 ch = *reader->at;
        if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') {
            return;
        }
        reader->at++;
    }
}

/* What each character means inside a string: most mean nothing. */
enum { PLAIN = 0, QUOTE, BACKSLASH, CONTROL, MARK };
static unsigned char string_classes[256];

static void fill_string_classes(void)
{
    for (int ch = 0; ch < 0x20; ch++) {
        string_classes[ch] = CONTROL;
    }
    string_classes['"'] = QUOTE;
    string_classes['\\'] = BACKSLASH;
    string_classes[':'] = MARK;
    string_classes['@'] = MARK;
}

/* Pass over a string whose opening quote the reader is at. On success the
 * reader is past the closing quote, *start and *length give the raw
 * characters between the quotes, *escaped tells whether any of them is an
 * escape, and *marked whether any is a ':' or an '@' (which strings with a
 * format have). Returns 0, or -1 when the string is not one of JSON's. */
static int read_string(
    Reader *reader, const Py_UCS1 **start, Py_ssize_t *length, int *escaped, int *marked)
{
    const Py_UCS1 *at = reader->at + 1;
    const Py_UCS1 *end = reader->end;
    *start = at;
    *escaped = 0;
    *marked = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i colon = _mm_set1_epi8(':');
    const __m128i at_sign = _mm_set1_epi8('@');
    const __m128i last_control = _mm_set1_epi8(0x1F);
#endif
    while (1) {
#if defined(__SSE2__)
        /* 16 characters at a time up to the next one that is not PLAIN. */
        while (end - at >= 16) {
            __m128i chunk = _mm_loadu_si128((const __m128i *)at);
            __m128i special = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)),
                _mm_or_si128(_mm_cmpeq_epi8(chunk, colon), _mm_cmpeq_epi8(chunk, at_sign)));
            /* Unsigned: a character is a control one if max(c, 0x1F) is 0x1F. */
            special = _mm_or_si128(
                special, _mm_cmpeq_epi8(_mm_max_epu8(chunk, last_control), last_control));
            int mask = _mm_movemask_epi8(special);
            if (mask != 0) {
                at += __builtin_ctz((unsigned int)mask);
                break;
            }
            at += 16;
        }
#endif
        while (at < end && string_classes[*at] == PLAIN) {
            at++;
        }
        if (at >= end) {
            return -1;
        }
        switch (string_classes[*at]) {
        case QUOTE:
            *length = at - *start;
            reader->at = at + 1;
            return 0;
        case MARK:
            *marked = 1;
            at++;
            continue;
        case CONTROL:
            return -1;
        default: /* BACKSLASH */
            *escaped = 1;
            if (at + 1 >= end) {
                return -1;
            }
            switch (at[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                at += 2;
                continue;
            case 'u':
                if (end - at < 6 || json_hex4(at + 2) < 0) {
                    return -1;
                }
                at += 6;
                continue;
            default:
                return -1;
            }
        }
    }
}

/* The string that the raw characters of a string with escapes stand for;
 * NULL with no error set when it has a lone surrogate. */
static PyObject *decode_string(const Py_UCS1 *text, Py_ssize_t length)
{
    Py_UCS4 *units = PyMem_Malloc(sizeof(Py_UCS4) * (size_t)(length ? length : 1));
    if (units == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t count = 0;
    for (Py_ssize_t index = 0; index < length;) {
        Py_UCS1 ch = text[index];
        if (ch != '\\') {
            units[count++] = ch;
            index++;
            continue;
        }
        Py_UCS1 code = text[index + 1];
        index += 2;
        switch (code) {
        case 'b': units[count++] = '\b'; continue;
        case 'f': units[count++] = '\f'; continue;
        case 'n': units[count++] = '\n'; continue;
        case 'r': units[count++] = '\r'; continue;
        case 't': units[count++] = '\t'; continue;
        case 'u': break;
        default: units[count++] = code; continue;
        }
        /* read_string checked the four digits. */
        long unit = json_hex4(text + index);
        index += 4;
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
            PyMem_Free(units);
            return NULL;
        }
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            long low = -1;
            if (index + 6 <= length && text[index] == '\\' && text[index + 1] == 'u') {
                low = json_hex4(text + index + 2);
            }
            if (low < 0xDC00 || low > 0xDFFF) {
                PyMem_Free(units);
                return NULL;
            }
            index += 6;
            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
        }
        units[count++] = (Py_UCS4)unit;
    }
    PyObject *decoded = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, units, count);
    PyMem_Free(units);
    return decoded;
}

/* The hashes of the short keys met last. Bodies name the same few keys
 * again and again, and looking one up here costs less than hashing it. */
#define NAME_SLOTS 1024
#define MAX_CACHED_NAME 24

typedef struct {
    uint64_t hash;
    Py_ssize_t length; /* -1: empty slot */
    Py_UCS1 name[MAX_CACHED_NAME];
} NameSlot;

static NameSlot name_slots[NAME_SLOTS];

/* The keys string_key gave the strings handed to it last, by a hash of
 * their characters: the same URL or e-mail address, met again, is not
 * handed to it again. string_key is a pure function of the string, and
 * configure() empties this memo whenever it is given another. */
#define FORMAT_SLOTS 2048
#define MAX_KEPT_FORMAT 128

typedef struct {
    PyObject *text;
    uint64_t key;
} FormatSlot;

static FormatSlot format_slots[FORMAT_SLOTS];

static FormatSlot *format_slot(const Py_UCS1 *text, Py_ssize_t length)
{
    return &format_slots[json_slot(text, length, FORMAT_SLOTS)];
}

static void clear_format_slots(void)
{
    for (Py_ssize_t index = 0; index < FORMAT_SLOTS; index++) {
        Py_CLEAR(format_slots[index].text);
    }
}

static void clear_name_slots(void)
{
    for (Py_ssize_t index = 0; index < NAME_SLOTS; index++) {
        name_slots[index].length = -1;
    }
}

/* hash() of a key without escapes, masked. A string of characters below
 * U+0100 is stored a byte a character, and hash() hashes those bytes. */
static uint64_t plain_name_hash(const Py_UCS1 *text, Py_ssize_t length)
{
    if (length > MAX_CACHED_NAME || length == 0) {
        return (uint64_t)_Py_HashBytes(text, length) & MASK;
    }
    size_t index = ((size_t)length * 31u + text[0] * 7u + text[length / 2] * 3u +
                    text[length - 1]) % NAME_SLOTS;
    NameSlot *slot = &name_slots[index];
    if (slot->length == length && memcmp(slot->name, text, (size_t)length) == 0) {
        return slot->hash;
    }
    uint64_t hash = (uint64_t)_Py_HashBytes(text, length) & MASK;
    slot->hash = hash;
    slot->length = length;
    memcpy(slot->name, text, (size_t)length);
    return hash;
}

/* The hash of an object key, as hash() gives it for the key's string. */
static uint64_t name_hash(const Py_UCS1 *text, Py_ssize_t length, int escaped)
{
    if (!escaped) {
        return plain_name_hash(text, length);
    }
    PyObject *name = decode_string(text, length);
    if (name == NULL) {
        return PyErr_Occurred() ? FAILED : GIVE_UP;
    }
    Py_hash_t hash = PyObject_Hash(name);
    Py_DECREF(name);
    if (hash == -1 && PyErr_Occurred()) {
        return FAILED;
    }
    return (uint64_t)hash & MASK;
}

/* str.isdigit() of one character: ASCII digits and a few others. */
static int is_any_digit(Py_UCS1 ch)
{
    return json_is_digit(ch) || (ch >= 0x80 && Py_UNICODE_ISDIGIT(ch));
}

/* The key of a string value: text_key() of the string it stands for. */
static uint64_t string_value_key(
    const Py_UCS1 *text, Py_ssize_t length, int escaped, int marked)
{
    if (escaped) {
        PyObject *value = decode_string(text, length);
        if (value == NULL) {
            return PyErr_Occurred() ? FAILED : GIVE_UP;
        }
        uint64_t key = text_key(value);
        Py_DECREF(value);
        return key;
    }
    /* may_have_format(), on the raw characters, which are the string's. */
    if (!marked && length != 36 &&
        (length == 0 || (text[0] != '-' && !is_any_digit(text[0])))) {
        return plain_key;
    }
    if (is_common_date_time(text, length)) {
        return date_time_key;
    }
    FormatSlot *slot = NULL;
    if (length <= MAX_KEPT_FORMAT) {
        slot = format_slot(text, length);
        if (slot->text != NULL && PyUnicode_GET_LENGTH(slot->text) == length &&
            memcmp(PyUnicode_1BYTE_DATA(slot->text), text, (size_t)length) == 0) {
            return slot->key;
        }
    }
    PyObject *value = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, text, length);
    if (value == NULL) {
        return FAILED;
    }
    /* The tests of text_key were made above, on the raw characters. */
    uint64_t key = format_key(value);
    if (slot != NULL && key < GIVE_UP) {
        Py_XSETREF(slot->text, value);
        slot->key = key;
        return key;
    }
    Py_DECREF(value);
    return key;
}


/* The key of the number the reader is at (INT_KEY or FLOAT_KEY), or
 * GIVE_UP. */
static uint64_t read_number(Reader *reader)
{
    const Py_UCS1 *at = reader->at, *end = reader->end, *start = reader->at;
    int is_float = 0;
    if (at < end && *at == '-') {
        at++;
    }
    if (at >= end || !json_is_digit(*at)) {
        return GIVE_UP;
    }
    const Py_UCS1 *digits = at;
    if (*at == '0') {
        at++;
    }
    else {
        while (at < end && json_is_digit(*at)) {
            at++;
        }
    }
    Py_ssize_t integer_digits = at - digits;
    if (at < end && *at == '.') {
        is_float = 1;
        at++;
        if (at >= end || !json_is_digit(*at)) {
            return GIVE_UP;
        }
        while (at < end && json_is_digit(*at)) {
            at++;
        }
    }
    if (at < end && (*at == 'e' || *at == 'E')) {
        is_float = 1;
        at++;
        if (at < end && (*at == '+' || *at == '-')) {
            at++;
        }
        const Py_UCS1 *exponent = at;
        while (at < end && json_is_digit(*at)) {
            at++;
        }
        if (at == exponent || at - exponent > 2) {
            return GIVE_UP;
        }
    }
    if (at - start > MAX_NUMBER || (!is_float && integer_digits > MAX_INT_DIGITS)) {
        return GIVE_UP;
    }
    reader->at = at;
    return is_float ? FLOAT_KEY : INT_KEY;
}

static int read_literal(Reader *reader, const char *word, Py_ssize_t length)
{
    if (reader->end - reader->at < length || memcmp(reader->at, word, (size_t)length) != 0) {
        return -1;
    }
    reader->at += length;
    return 0;
}

static uint64_t read_value(Reader *reader, Py_ssize_t depth);

static uint64_t read_object(Reader *reader, Py_ssize_t depth)
{
    uint64_t key = OBJECT_SEED;
    uint64_t size = 0;
    reader->at++;
    skip_space(reader);
    if (reader->at < reader->end && *reader->at == '}') {
        reader->at++;
        return mix(key);
    }
    if (depth >= max_depth) {
        return GIVE_UP;
    }
    while (1) {
        const Py_UCS1 *name;
        Py_ssize_t length;
        int escaped, marked;
        if (reader->at >= reader->end || *reader->at != '"' ||
            read_string(reader, &name, &length, &escaped, &marked) < 0) {
            return GIVE_UP;
        }
        uint64_t hash = name_hash(name, length, escaped);
        if (hash >= GIVE_UP) {
            return hash;
        }
        skip_space(reader);
        if (reader->at >= reader->end || *reader->at != ':') {
            return GIVE_UP;
        }
        reader->at++;
        skip_space(reader);
        uint64_t item_key = read_value(reader, depth + 1);
        if (item_key >= GIVE_UP) {
            return item_key;
        }
        key = ((key ^ hash) * KEY_FACTOR) & MASK;
        key = ((key ^ item_key) * VALUE_FACTOR) & MASK;
        size++;
        skip_space(reader);
        if (reader->at >= reader->end) {
            return GIVE_UP;
        }
        if (*reader->at == '}') {
            reader->at++;
            return mix(key ^ size);
        }
        if (*reader->at != ',') {
            return GIVE_UP;
        }
        reader->at++;
        skip_space(reader);
    }
}

static uint64_t read_array(Reader *reader, Py_ssize_t depth)
{
    reader->at++;
    skip_space(reader);
    if (reader->at < reader->end && *reader->at == ']') {
        reader->at++;
        return ARRAY_SEED;
    }
    if (depth >= max_depth) {
        return GIVE_UP;
    }
    uint64_t stack_keys[STACK_KEYS];
    uint64_t *others = stack_keys;
    Py_ssize_t count = 0, room = STACK_KEYS;
    uint64_t first = 0, result = GIVE_UP;
    int has_first = 0;
    while (1) {
        uint64_t item_key = read_value(reader, depth + 1);
        if (item_key >= GIVE_UP) {
            result = item_key;
            goto done;
        }
        if (!has_first) {
            first = item_key;
            has_first = 1;
        }
        else if (item_key != first) {
            if (count == room) {
                uint64_t *grown = PyMem_Malloc(sizeof(uint64_t) * (size_t)room * 2);
                if (grown == NULL) {
                    PyErr_NoMemory();
                    result = FAILED;
                    goto done;
                }
                memcpy(grown, others, sizeof(uint64_t) * (size_t)count);
                if (others != stack_keys) {
                    PyMem_Free(others);
                }
                others = grown;
                room *= 2;
            }
            others[count++] = item_key;
        }
        skip_space(reader);
        if (reader->at >= reader->end) {
            goto done;
        }
        if (*reader->at == ']') {
            reader->at++;
            break;
        }
        if (*reader->at != ',') {
            goto done;
        }
        reader->at++;
        skip_space(reader);
    }
    /* As array_key(): the sum of the mixed keys of the distinct shapes. */
    uint64_t total = mix(first);
    qsort(others, (size_t)count, sizeof(uint64_t), compare_keys);
    for (Py_ssize_t index = 0; index < count; index++) {
        if (index == 0 || others[index] != others[index - 1]) {
            total = (total + mix(others[index])) & MASK;
        }
    }
    result = mix(total ^ ARRAY_SEED);
done:
    if (others != stack_keys) {
        PyMem_Free(others);
    }
    return result;
}

/* The key of the value the reader is at, which is at a depth. */
static uint64_t read_value(Reader *reader, Py_ssize_t depth)
{
    if (reader->at >= reader->end) {
        return GIVE_UP;
    }
    switch (*reader->at) {
    case '"': {
        const Py_UCS1 *text;
        Py_ssize_t length;
        int escaped, marked;
        if (read_string(reader, &text, &length, &escaped, &marked) < 0) {
            return GIVE_UP;
        }
        return string_value_key(text, length, escaped, marked);
    }
    case '{':
        return read_object(reader, depth);
    case '[':
        return read_array(reader, depth);
    case 't':
        return read_literal(reader, "true", 4) < 0 ? GIVE_UP : BOOL_KEY;
    case 'f':
        return read_literal(reader, "false", 5) < 0 ? GIVE_UP : BOOL_KEY;
    case 'n':
        return read_literal(reader, "null", 4) < 0 ? GIVE_UP : OTHER_KEY;
    default:
        return read_number(reader);
    }
}

static PyObject *text_shape(PyObject *module, PyObject *text)
{
    if (string_key == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_shapes_c.configure() was not called");
        return NULL;
    }
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text_shape() takes a str");
        return NULL;
    }
    if (PyUnicode_READY(text) == -1) {
        return NULL;
    }
    if (PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND) {
        Py_RETURN_NONE;
    }
    const Py_UCS1 *data = PyUnicode_1BYTE_DATA(text);
    Reader reader = {data, data + PyUnicode_GET_LENGTH(text)};
    skip_space(&reader);
    uint64_t key = read_value(&reader, 0);
    if (key == FAILED) {
        return NULL;
    }
    skip_space(&reader);
    if (key == GIVE_UP || reader.at != reader.end) {
        Py_RETURN_NONE;
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
    /* The key string_key gives every string is_common_date_time() takes. */
    PyObject *date_time = PyUnicode_FromString("date-time");
    if (date_time == NULL) {
        return NULL;
    }
    Py_hash_t date_time_hash = PyObject_Hash(date_time);
    Py_DECREF(date_time);
    if (date_time_hash == -1) {
        return NULL;
    }
    clear_format_slots();
    Py_INCREF(new_string_key);
    Py_XSETREF(string_key, new_string_key);
    Py_INCREF(new_too_deep);
    Py_XSETREF(too_deep, new_too_deep);
    max_depth = new_max_depth;
    plain_key = (uint64_t)hash & MASK;
    date_time_key = (uint64_t)date_time_hash & MASK;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"shape", shape, METH_O,
     "shape(value) -> int: the shape key of a JSON value, as shapes.shape."},
    {"text_shape", text_shape, METH_O,
     "text_shape(text) -> int | None: the shape key of a JSON text, or None."},
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
    fill_string_classes();
    clear_name_slots();
    return PyModule_Create(&module_definition);
}
