/* oci/state.c, oci/config.c and oci/json.c: the runtime state, config.json, bounded reads. */
#define _GNU_SOURCE
#include "base/io.h"
#include "helpers.h"
#include "oci/config.h"
#include "oci/json.h"
#include "oci/json_write.h"
#include "oci/state.h"

#include <unistd.h>

/* Parse JSON written with ' for " (see json_q). */
static int
parse_state (const char *json, struct oci_state *st, hook_error_t **err)
{
  cleanup_free char *text = json_q (json);
  int rc = oci_state_parse (text, strlen (text), st, err);
  if (rc < 0)
    oci_state_free (st);
  return rc;
}

static int
parse_config (const char *json, struct oci_config *cfg, hook_error_t **err)
{
  cleanup_free char *text = json_q (json);
  int rc = oci_config_parse (text, strlen (text), cfg, err);
  if (rc < 0)
    oci_config_free (cfg);
  return rc;
}

static char *
nested (int levels)
{
  char *s = malloc ((size_t) levels * 6 + 3);
  size_t o = 0;
  for (int i = 0; i < levels; i++)
    o += (size_t) sprintf (s + o, "{\"a\":");
  s[o++] = '1';
  for (int i = 0; i < levels; i++)
    s[o++] = '}';
  s[o] = '\0';
  return s;
}

static void
test_state (void)
{
  struct oci_state st;
  hook_error_t *err = NULL;
  static const char nul[] = "{\"id\":\"x\",\0\"bundle\":\"/b\"}";
  static const struct
  {
    const char *json, *msg, *name;
  } bad[] = {
    { "{'bundle':'/b'}", "no container \"id\"", "a state without id is rejected" },
    { "{'id':'','bundle':'/b'}", "no container \"id\"", "a state with an empty id is rejected" },
    { "{'id':'x'}", "\"bundle\" must be an absolute path", "a state without bundle is rejected" },
    { "{'id':'x','bundle':'b'}", "\"bundle\" must be an absolute path", "a relative bundle is rejected" },
    { "{'id':1,'bundle':'/b'}", "\"id\" must be a string", "an id of the wrong type is rejected" },
    { "{'id':'x','bundle':'/b','pid':'123'}", "\"pid\" must be a whole number", "a pid string is rejected" },
    { "{'id':'x','bundle':'/b','pid':-1}", "\"pid\" must be a whole number", "a negative pid is rejected" },
    { "{'id':'x','bundle':'/b','pid':1.5}", "\"pid\"", "a fractional pid is rejected" },
    { "{'id':'x','bundle':'/b','pid':2147483648}", "not 2147483648", "a pid past 2^31-1 is rejected" },
    { "{'id':'x','bundle':'/b','pid':99999999999999999999999}", "\"pid\"", "a pid past 2^64 is rejected" },
    { "{'id':'x','bundle':'/b','annotations':{'a':1}}", "value of \"a\" must be a string",
      "an annotation with a non-string value is rejected" },
    { "{'id':'x','bundle':'/b','annotations':['a']}", "\"annotations\" must be an object",
      "annotations that are not an object are rejected" },
    { "['id','x']", "expected a JSON object", "a state that is not an object is rejected" },
    { "{'id':'x',", "not valid JSON", "invalid JSON is rejected" },
    { "", "is empty", "empty input is rejected" },
    { "{'id':'x','id':'y','bundle':'/b'}", "the key \"id\" appears twice", "a duplicate top-level key is rejected" },
    { "{'id':'x','bundle':'/b','annotations':{'k':'1','j':'0','k':'2'}}", "the key \"k\" appears twice",
      "a duplicate annotation key is rejected" },
    { "{'id':'x\xff','bundle':'/b'}", "a string is not valid UTF-8 (offset 8)",
      "a string that is not UTF-8 is rejected" },
  };
  cleanup_free char *deep = nested (100);
  cleanup_free char *ok64 = nested (64);

  is_success (parse_state ("{'ociVersion':'1.0.0','id':'x','status':'created','pid':123,'bundle':'/b',"
                           "'root':'rootfs','annotations':{'a':'b'}}",
                           &st, &err),
              0, &err, "a crun-like state parses");
  is_str (st.id, "x", "the state's id is read");
  is_str (st.status, "created", "the state's status is read");
  is_int (st.pid, 123, "the state's pid is read");
  is_str (st.bundle, "/b", "the state's bundle is read");
  is_str (st.root, "rootfs", "the state's root is read");
  is_str (pairs_lookup (st.annotations, "a"), "b", "the state's annotations are read");
  is_str (pairs_lookup (st.annotations, "b"), NULL, "pairs_lookup finds only keys, not values");
  is_str (pairs_lookup (NULL, "a"), NULL, "pairs_lookup accepts no pairs");
  oci_state_free (&st);

  is_success (parse_state ("{'id':'x','bundlePath':'/old','status':'stopped'}", &st, &err), 0, &err,
              "an old engine's state with bundlePath parses");
  is_str (st.bundle, "/old", "bundlePath is used when bundle is missing");
  is_int (st.pid, 0, "a missing pid reads as 0");
  ok (st.annotations && st.annotations[0] == NULL, "missing annotations read as an empty list");
  oci_state_free (&st);

  is_success (parse_state ("{'id':'x','bundle':'/new','bundlePath':'/old','pid':2147483647}", &st, &err), 0, &err,
              "a state with both bundle and bundlePath parses");
  is_str (st.bundle, "/new", "bundle beats bundlePath");
  is_int (st.pid, 2147483647, "a pid of 2^31-1 is accepted");
  oci_state_free (&st);

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    is_error (parse_state (bad[i].json, &st, &err), -1, &err, bad[i].msg, "%s", bad[i].name);
  is_error (parse_state (deep, &st, &err), -1, &err, "nested deeper than 64 levels",
            "input nested 100 levels deep is rejected");
  is_error (parse_state (ok64, &st, &err), -1, &err, "no container \"id\"",
            "input nested 64 levels deep reaches the field checks");
  is_error (oci_state_parse (nul, sizeof nul - 1, &st, &err), -1, &err, "contains a NUL byte",
            "input with a NUL byte inside is rejected");
  oci_state_free (&st);
}

static void
test_config (void)
{
  struct oci_config cfg;
  hook_error_t *err = NULL;
  const struct oci_mount *m;
  char desc[128];

  is_success (parse_config ("{'root':{'path':'rootfs'},"
                            " 'process':{'user':{'uid':1000,'gid':100,'additionalGids':[10,2000]},"
                            "  'env':['PATH=/bin','A=1','A=2']},"
                            " 'annotations':{'k':'v'},"
                            " 'mounts':[{'destination':'/proc','type':'proc','source':'proc'},"
                            "  {'destination':'/data','type':'bind','source':'/srv/data'},"
                            "  {'destination':'/opt','source':'/srv/opt','options':['rbind','ro']},"
                            "  {'destination':'/id','type':'bind','source':'/srv/id','options':['idmap']},"
                            "  {'destination':'/m','type':'bind','source':'/srv/m',"
                            "   'uidMappings':[{'containerID':0,'hostID':1000,'size':1}],"
                            "   'gidMappings':[{'containerID':0,'hostID':100,'size':1}]}],"
                            " 'linux':{'namespaces':[{'type':'pid'},{'type':'user'}],"
                            "  'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
                            "  'gidMappings':[{'containerID':0,'hostID':200000,'size':65536}]}}",
                            &cfg, &err),
              0, &err, "a full config parses");
  is_str (cfg.root_path, "rootfs", "root.path is read");
  ok (cfg.has_user && cfg.uid == 1000 && cfg.gid == 100, "process.user uid and gid are read");
  ok (cfg.n_additional_gids == 2 && cfg.additional_gids[0] == 10 && cfg.additional_gids[1] == 2000,
      "process.user.additionalGids are read");
  is_str (env_lookup (cfg.env, "PATH"), "/bin", "the env array is read");
  is_str (env_lookup (cfg.env, "A"), "2", "env_lookup takes the last definition");
  is_str (env_lookup (cfg.env, "PAT"), NULL, "env_lookup does not match a prefix of a name");
  is_str (pairs_lookup (cfg.annotations, "k"), "v", "annotations are read");
  is_int ((long long) cfg.n_mounts, 5, "all mounts are read");
  m = &cfg.mounts[0];
  ok (!m->bind && !m->idmapped && strcmp (m->type, "proc") == 0, "a proc mount is not a bind mount");
  m = &cfg.mounts[1];
  ok (m->bind && !m->idmapped && strcmp (m->source, "/srv/data") == 0, "type bind makes a bind mount");
  m = &cfg.mounts[2];
  ok (m->bind && m->type == NULL && strcmp (m->options[1], "ro") == 0, "an rbind option makes a bind mount");
  ok (cfg.mounts[3].idmapped && !cfg.mounts[3].has_mappings, "an idmap option marks a mount idmapped");
  m = &cfg.mounts[4];
  ok (m->idmapped && m->has_mappings, "uidMappings mark a mount idmapped");
  idmap_describe (&m->gid_map, desc, sizeof desc);
  is_str (desc, "0:100:1", "a mount's gidMappings are read");
  ok (cfg.has_userns && cfg.userns_path == NULL, "a user namespace without path is found");
  ok (cfg.has_mappings, "linux uid and gid mappings are found");
  idmap_describe (&cfg.uid_map, desc, sizeof desc);
  is_str (desc, "0:100000:65536", "linux.uidMappings are parsed into an idmap");
  idmap_describe (&cfg.gid_map, desc, sizeof desc);
  is_str (desc, "0:200000:65536", "linux.gidMappings are parsed into an idmap");
  oci_config_free (&cfg);

  is_success (parse_config ("{'linux':{'namespaces':[{'type':'user','path':'/proc/7/ns/user'}]}}", &cfg, &err), 0, &err,
              "a config joining a user namespace parses");
  is_str (cfg.userns_path, "/proc/7/ns/user", "the user namespace path is read");
  ok (!cfg.has_user && !cfg.has_mappings && cfg.n_mounts == 0, "a minimal config has no user, mappings or mounts");
  ok (cfg.env && cfg.env[0] == NULL && cfg.annotations && cfg.annotations[0] == NULL,
      "a minimal config has empty env and annotations");
  oci_config_free (&cfg);
}

static void
test_config_errors (void)
{
  struct oci_config cfg;
  hook_error_t *err = NULL;
  static const struct
  {
    const char *json, *msg, *name;
  } bad[] = {
    { "{'root':'rootfs'}", "\"root\" must be an object", "a root that is not an object is rejected" },
    { "{'root':{'path':1}}", "\"path\" must be a string", "a root.path that is not a string is rejected" },
    { "{'process':[]}", "\"process\" must be an object", "a process that is not an object is rejected" },
    { "{'process':{'user':1}}", "\"user\" must be an object", "a process.user that is not an object is rejected" },
    { "{'process':{'user':{'uid':'0'}}}", "\"uid\" must be a whole number", "a uid string is rejected" },
    { "{'process':{'user':{'uid':0,'gid':-1}}}", "\"gid\" must be a whole number", "a negative gid is rejected" },
    { "{'process':{'user':{'uid':4294967295}}}", "\"uid\"", "uid 4294967295 is rejected" },
    { "{'process':{'user':{'uid':0,'additionalGids':7}}}", "\"additionalGids\" must be an array",
      "additionalGids that are not an array are rejected" },
    { "{'process':{'user':{'uid':0,'additionalGids':[1,-2]}}}", "additionalGids[1]: not a group id",
      "a negative supplementary group is rejected" },
    { "{'process':{'user':{'uid':0,'additionalGids':['wheel']}}}", "additionalGids[0]: not a group id",
      "a group name is rejected" },
    { "{'process':{'env':'A=1'}}", "\"env\" must be an array", "an env that is not an array is rejected" },
    { "{'process':{'env':['A=1',2]}}", "process.env: item 1 must be a string", "a non-string env item is rejected" },
    { "{'annotations':[]}", "\"annotations\" must be an object", "annotations that are not an object are rejected" },
    { "{'annotations':{'k':true}}", "value of \"k\" must be a string", "a non-string annotation is rejected" },
    { "{'mounts':{}}", "\"mounts\" must be an array", "mounts that are not an array are rejected" },
    { "{'mounts':[1]}", "mounts[0]: must be an object", "a mount that is not an object is rejected" },
    { "{'mounts':[{'destination':'/a'},{'source':'/x'}]}", "mounts[1]: no \"destination\"",
      "a mount without destination is rejected" },
    { "{'mounts':[{'destination':1}]}", "\"destination\" must be a string", "a destination number is rejected" },
    { "{'mounts':[{'destination':'/a','type':1}]}", "\"type\" must be a string", "a type number is rejected" },
    { "{'mounts':[{'destination':'/a','options':'bind'}]}", "\"options\" must be an array",
      "options that are not an array are rejected" },
    { "{'mounts':[{'destination':'/a','options':[1]}]}", "item 0 must be a string", "a non-string option is rejected" },
    { "{'mounts':[{'destination':'/a','uidMappings':[{'containerID':0}]}]}", "needs containerID, hostID and size",
      "a mount mapping without hostID is rejected" },
    { "{'mounts':[{'destination':'/a','uidMappings':{}}]}", "\"uidMappings\" must be an array",
      "mount uidMappings that are not an array are rejected" },
    { "{'linux':[]}", "\"linux\" must be an object", "a linux that is not an object is rejected" },
    { "{'linux':{'namespaces':{}}}", "\"namespaces\" must be an array",
      "namespaces that are not an array are rejected" },
    { "{'linux':{'namespaces':[{'type':1}]}}", "\"type\" must be a string", "a namespace type number is rejected" },
    { "{'linux':{'uidMappings':[{'containerID':'0','hostID':0,'size':1}],'gidMappings':[]}}",
      "\"containerID\" must be a whole number", "a containerID string is rejected" },
    { "{'linux':{'uidMappings':[1],'gidMappings':[]}}", "linux.uidMappings: item 0 must be an object",
      "a mapping that is not an object is rejected" },
    { "{'linux':{'uidMappings':[{'containerID':0,'hostID':4294967295,'size':1}],'gidMappings':[]}}",
      "does not fit in 32-bit ids", "a mapping with hostID 4294967295 is rejected" },
    { "{'linux':{'uidMappings':[{'containerID':0,'hostID':0,'size':0}],'gidMappings':[]}}", "size of 0",
      "a mapping of size 0 is rejected" },
    { "{'linux':{'uidMappings':[],'gidMappings':[{'containerID':0,'hostID':1000,'size':10},"
      "{'containerID':5,'hostID':2000,'size':10}]}}",
      "linux.gidMappings: mapping lines 0:1000:10 and 5:2000:10 overlap", "overlapping mappings are rejected" },
    { "{'mounts':[{'destination':'/a','gidMappings':[{'containerID':0,'hostID':1,'size':2},"
      "{'containerID':9,'hostID':2,'size':1}]}]}",
      "mounts[0]: mapping lines", "overlapping mount mappings are rejected" },
    { "[]", "expected a JSON object", "a config that is not an object is rejected" },
    { "{", "not valid JSON", "an invalid config is rejected" },
  };

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    is_error (parse_config (bad[i].json, &cfg, &err), -1, &err, bad[i].msg, "%s", bad[i].name);
  is_error (parse_config ("{'root':1}", &cfg, &err), -1, &err, "config.json:", "config errors name config.json");
}

/* TEXT written back by the writer (plain, or BEAUTIFY'd as inject does). */
static char *
write_tree (yajl_val tree, bool beautify)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  hook_error_t *err = NULL;
  char *out = NULL;
  size_t len;

  if (beautify)
    yajl_gen_config (g, yajl_gen_beautify, 1);
  if (json_gen_value (g, tree) < 0 || json_gen_take (g, &out, &len, &err) < 0)
    out = NULL;
  error_free (&err);
  yajl_gen_free (g);
  return out;
}

/* parse (write (parse (TEXT))) == parse (TEXT), plain and beautified. */
static bool
round_trips (const char *text)
{
  yajl_val a = NULL, b = NULL;
  hook_error_t *err = NULL;
  bool same = json_parse (text, strlen (text), "input", &a, &err) == 0;

  for (int beautify = 0; same && beautify < 2; beautify++)
    {
      cleanup_free char *out = write_tree (a, beautify);
      same = out && json_parse (out, strlen (out), "output", &b, &err) == 0 && json_equal (a, b);
      yajl_tree_free (b);
      b = NULL;
    }
  error_free (&err);
  yajl_tree_free (a);
  return same;
}

static int
parse_text (const char *text, size_t len, hook_error_t **err)
{
  yajl_val tree = NULL;
  int rc = json_parse (text, len, "config.json", &tree, err);
  yajl_tree_free (tree);
  return rc;
}

/* A '"' in a comment hid the nesting after it from the old depth check. */
static char *
comment_then_deep (size_t levels)
{
  static const char head[] = "{\"a\": /* \" */ ";
  char *s = malloc (sizeof head + levels + 2);
  memcpy (s, head, sizeof head - 1);
  memset (s + sizeof head - 1, '[', levels);
  strcpy (s + sizeof head - 1 + levels, "}");
  return s;
}

static void
test_json_text (void)
{
  hook_error_t *err = NULL;
  cleanup_free char *hidden = comment_then_deep (100000);
  cleanup_free char *deep = nested (65);
  static const struct
  {
    const char *json, *msg, *name;
  } bad[] = {
    { "{'a':1 /* c */}", "config.json: comments are not JSON (offset 7)", "a block comment is refused" },
    { "{'a':1} // c", "comments are not JSON (offset 8)", "a line comment is refused" },
    { "/**/{}", "comments are not JSON (offset 0)", "a comment before the value is refused" },
    { "{'a':'x\\u0000 --read-only'}", "a string holds the escape of U+0000, NUL (offset 7)",
      "\\u0000 in a string is refused" },
    { "{'a\\u0000b':1}", "holds the escape of U+0000", "\\u0000 in a key is refused" },
    { "['\\uD800']", "unpaired UTF-16 surrogate U+D800 (offset 2)", "a lone high surrogate is refused" },
    { "['\\udc00x']", "unpaired UTF-16 surrogate U+DC00", "a lone low surrogate is refused" },
    { "['\\uD800\\u0041']", "unpaired UTF-16 surrogate U+D800", "a high surrogate before a non-surrogate is refused" },
    { "['\\uD800\\uD800']", "unpaired UTF-16 surrogate U+D800", "two high surrogates are refused" },
    { "['\\uDC00\\uD800']", "unpaired UTF-16 surrogate U+DC00", "a pair in the wrong order is refused" },
    { "['x\\uD83D']", "unpaired UTF-16 surrogate U+D83D", "a high surrogate at the string's end is refused" },
    { "['\xc0\xaf']", "not valid UTF-8 (offset 2)", "an overlong '/' is refused" },
    { "['\xe0\x80\xaf']", "not valid UTF-8", "a three-byte overlong is refused" },
    { "['\xed\xa0\x80']", "not valid UTF-8", "a surrogate written in UTF-8 is refused" },
    { "['\xf4\x90\x80\x80']", "not valid UTF-8", "a code point past U+10FFFF is refused" },
    { "['\xe2\x82']", "not valid UTF-8", "a truncated sequence is refused" },
    { "{'a':1,}", "is not valid JSON", "a trailing comma is refused" },
    { "{} {}", "is not valid JSON", "two values are refused" },
  };

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      cleanup_free char *text = json_q (bad[i].json);
      is_error (parse_text (text, strlen (text), &err), -1, &err, bad[i].msg, "%s", bad[i].name);
    }
  is_error (parse_text (hidden, strlen (hidden), &err), -1, &err, "comments are not JSON (offset 6)",
            "a '\"' in a comment followed by 100000 '[' is refused as a comment, without a crash");
  {
    cleanup_free char *text = json_q ("{'a':'/* not a comment */ // nor this'}");
    is_success (parse_text (text, strlen (text), &err), 0, &err, "comment marks inside a string are text");
  }
  /* The tree's own bound, whatever the text scan concludes. */
  is_error (parse_text (deep, strlen (deep), &err), -1, &err, "nested deeper than 64 levels (offset 321)",
            "the tree is never built deeper than 64 levels");
  {
    cleanup_free char *text = json_q ("['\\ud83d\\ude00','\\uD83D\\uDE00','\xf0\x9f\x98\x80','\\u00e9',"
                                      "'\xef\xbf\xbf','\xf4\x8f\xbf\xbf','\\u0001']");
    yajl_val tree = NULL;
    is_success (json_parse (text, strlen (text), "t", &tree, &err), 0, &err,
                "valid surrogate pairs, non-ASCII and control escapes are accepted");
    ok (tree && strcmp (tree->u.array.values[0]->u.string, "\xf0\x9f\x98\x80") == 0
            && strcmp (tree->u.array.values[1]->u.string, "\xf0\x9f\x98\x80") == 0,
        "a surrogate pair decodes to its code point in UTF-8");
    yajl_tree_free (tree);
  }

  static const char *const exotic[] = {
    "{'args':['app.conf','\\/etc\\/x','\\u00e9t\\u00e9','\xc3\xa9','\\ud83d\\ude00','a\\\\b\\'c',"
    "'\\b\\f\\n\\r\\t\\u001b\\u007f','\xe2\x80\xa8']}",
    "{'n':[0,-0,1.5e300,1E-400,123456789012345678901234567890,-1.0e+2],'t':true,'f':false,'z':null}",
    "{'z':1,'a':2,'m':{'y':[],'b':{}},'':''}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['deep']]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
    "]]]]]]]]]]]]]]]]]]]]",
    "'just a string'",
  };
  for (size_t i = 0; i < sizeof exotic / sizeof exotic[0]; i++)
    {
      cleanup_free char *text = json_q (exotic[i]);
      ok (round_trips (text), "parse (write (parse (x))) == parse (x) for exotic input %zu", i);
    }
  {
    cleanup_free char *text = json_q ("{'a':'\\/'}");
    yajl_val tree = NULL;
    json_parse (text, strlen (text), "t", &tree, &err);
    cleanup_free char *out = write_tree (tree, false);
    is_str (out, "{\"a\":\"/\"}", "an escaped '/' is written as '/' (the same string), key order and all");
    yajl_tree_free (tree);
    error_free (&err);
  }
}

/* Write LEN bytes to a pipe and read them back with read_all_capped. */
static int
read_pipe (size_t len, size_t cap, char **out, size_t *got, hook_error_t **err)
{
  int fds[2];
  cleanup_free char *data = malloc (len + 1);
  int rc;

  memset (data, 'x', len);
  if (pipe (fds) < 0)
    return make_error (err, errno, "pipe");
  /* Within the pipe's 64 KiB buffer, so no writer process is needed. */
  if (write (fds[1], data, len) != (ssize_t) len)
    rc = make_error (err, errno, "write");
  else
    {
      close (fds[1]);
      fds[1] = -1;
      rc = read_all_capped (fds[0], cap, "test input", out, got, err);
    }
  close (fds[0]);
  if (fds[1] >= 0)
    close (fds[1]);
  return rc;
}

static void
test_read_all_capped (void)
{
  hook_error_t *err = NULL;
  char *text = NULL;
  size_t len = 0;

  is_success (read_pipe (4096, 4096, &text, &len, &err), 0, &err, "input of exactly the cap is read");
  ok (len == 4096 && text && text[4096] == '\0' && text[4095] == 'x', "the input is returned whole and NUL-ended");
  free (text);
  text = NULL;
  is_success (read_pipe (20000, 60000, &text, &len, &err), 0, &err, "input larger than one buffer is read");
  is_int ((long long) len, 20000, "all of a multi-buffer input is returned");
  free (text);
  text = NULL;
  is_error (read_pipe (5000, 4096, &text, &len, &err), -1, &err, "test input is larger than 4096 bytes",
            "a pipe larger than the cap is refused");
  is_error (read_pipe (60000, 100, &text, &len, &err), -1, &err, "larger than 100 bytes",
            "a pipe far larger than a small cap is refused");
  ok (text == NULL, "nothing is returned when the cap is exceeded");
  is_success (read_pipe (0, 100, &text, &len, &err), 0, &err, "empty input is read");
  ok (len == 0 && text && text[0] == '\0', "empty input gives an empty string");
  free (text);
}

int
main (void)
{
  test_state ();
  test_config ();
  test_config_errors ();
  test_json_text ();
  test_read_all_capped ();
  return done_testing ();
}
