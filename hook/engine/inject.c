#define _GNU_SOURCE
#include "inject.h"
#include "base/cleanup.h"
#include "base/io.h"
#include "oci/config.h"
#include "oci/json.h"
#include "oci/json_write.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The hook stages where an entry of ours may already sit: one that starts
 * the work, and poststop, which undoes mode chown+restore.  Always both:
 * without poststop a chown+restore tree would never be given back.  At
 * poststop the hook only looks for the container's journals (one
 * directory read) and does nothing when there are none. */
static const char *const our_stages[] = { "prestart", "createRuntime", "poststop" };
#define POSTSTOP "poststop"

int
inject_self_path (char **out, hook_error_t **err)
{
  *out = realpath ("/proc/self/exe", NULL);
  if (*out == NULL)
    return make_error (err, errno, "resolve /proc/self/exe");
  return 0;
}

/* An entry is ours if its program is named oci-idmap-hook, or is the same
 * file as HOOK_PATH (another wrapper may have added us under another name). */
static bool
is_our_hook (yajl_val entry, const char *hook_path)
{
  yajl_val path = json_member (entry, "path");
  struct stat a, b;
  const char *slash;

  if (path == NULL || !YAJL_IS_STRING (path))
    return false;
  slash = strrchr (path->u.string, '/');
  if (strcmp (slash ? slash + 1 : path->u.string, "oci-idmap-hook") == 0)
    return true;
  return stat (path->u.string, &a) == 0 && stat (hook_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool
is_our_stage (const char *stage)
{
  for (size_t i = 0; i < sizeof our_stages / sizeof our_stages[0]; i++)
    if (strcmp (stage, our_stages[i]) == 0)
      return true;
  return false;
}

/* Our first entry in HOOKS (the config's "hooks" object, may be NULL), or
 * NULL: at poststop (AT_POSTSTOP) or at the stages that start the work. */
static yajl_val
first_ours (yajl_val hooks, const char *hook_path, bool at_poststop)
{
  for (size_t i = 0; hooks && YAJL_IS_OBJECT (hooks) && i < hooks->u.object.len; i++)
    {
      yajl_val list = hooks->u.object.values[i];
      if (!is_our_stage (hooks->u.object.keys[i]) || !YAJL_IS_ARRAY (list)
          || (strcmp (hooks->u.object.keys[i], POSTSTOP) == 0) != at_poststop)
        continue;
      for (size_t k = 0; k < list->u.array.len; k++)
        if (is_our_hook (list->u.array.values[k], hook_path))
          return list->u.array.values[k];
    }
  return NULL;
}

/* Which stages get an entry of ours: the start stage and poststop, each
 * unless one of ours is there already. */
struct wanted
{
  bool start, poststop;
  /* One of ours at a start stage already: the poststop entry is the same
   * entry (its path, options, env and timeout) with the stage changed, so
   * that it looks in the same journal directory. */
  yajl_val start_entry;
};

static bool
wants (const struct inject_options *o, const struct wanted *w, const char *key)
{
  return !o->remove && ((w->start && strcmp (key, o->stage) == 0) || (w->poststop && strcmp (key, POSTSTOP) == 0));
}

static int
gen_our_entry (yajl_gen g, const struct inject_options *o, const char *stage)
{
  if (yajl_gen_map_open (g) != yajl_gen_status_ok || json_gen_cstring (g, "path") < 0
      || json_gen_cstring (g, o->hook_path) < 0 || json_gen_cstring (g, "args") < 0
      || yajl_gen_array_open (g) != yajl_gen_status_ok || json_gen_cstring (g, "oci-idmap-hook") < 0)
    return -1;
  for (size_t i = 0; i < o->n_args; i++)
    if (json_gen_cstring (g, o->args[i]) < 0)
      return -1;
  if (json_gen_cstring (g, stage) < 0 || yajl_gen_array_close (g) != yajl_gen_status_ok)
    return -1;
  return yajl_gen_map_close (g) == yajl_gen_status_ok ? 0 : -1;
}

/* ENTRY (an object) again, with the last of its args, its stage, set to STAGE. */
static int
gen_mirrored_entry (yajl_gen g, yajl_val entry, const char *stage)
{
  if (yajl_gen_map_open (g) != yajl_gen_status_ok)
    return -1;
  for (size_t i = 0; i < entry->u.object.len; i++)
    {
      yajl_val v = entry->u.object.values[i];
      if (json_gen_cstring (g, entry->u.object.keys[i]) < 0)
        return -1;
      if (strcmp (entry->u.object.keys[i], "args") != 0)
        {
          if (json_gen_value (g, v) < 0)
            return -1;
          continue;
        }
      if (yajl_gen_array_open (g) != yajl_gen_status_ok)
        return -1;
      for (size_t k = 0; k + 1 < v->u.array.len; k++)
        if (json_gen_value (g, v->u.array.values[k]) < 0)
          return -1;
      if (json_gen_cstring (g, stage) < 0 || yajl_gen_array_close (g) != yajl_gen_status_ok)
        return -1;
    }
  return yajl_gen_map_close (g) == yajl_gen_status_ok ? 0 : -1;
}

/* Does remove leave LIST (member KEY of "hooks") empty, having taken ours
 * out?  Then the list goes, as inject most likely made it (one that held
 * nothing before inject cannot be told apart); one that keeps another
 * tool's entry stays. */
static bool
remove_empties (const char *key, yajl_val list, const struct inject_options *o)
{
  bool ours = false;

  if (!o->remove || !is_our_stage (key) || !YAJL_IS_ARRAY (list))
    return false;
  for (size_t k = 0; k < list->u.array.len; k++)
    if (!is_our_hook (list->u.array.values[k], o->hook_path))
      return false;
    else
      ours = true;
  return ours;
}

/* Does remove leave HOOKS with no member at all?  Then "hooks" goes too. */
static bool
remove_empties_hooks (yajl_val hooks, const struct inject_options *o)
{
  if (!o->remove || hooks == NULL || !YAJL_IS_OBJECT (hooks) || hooks->u.object.len == 0)
    return false;
  for (size_t i = 0; i < hooks->u.object.len; i++)
    if (!remove_empties (hooks->u.object.keys[i], hooks->u.object.values[i], o))
      return false;
  return true;
}

/* The stage list KEY: LIST without our entries, plus ours when adding to that stage. */
static int
gen_stage (yajl_gen g, const char *key, yajl_val list, const struct inject_options *o, const struct wanted *w)
{
  bool add = wants (o, w, key);

  if (json_gen_cstring (g, key) < 0 || yajl_gen_array_open (g) != yajl_gen_status_ok)
    return -1;
  for (size_t k = 0; list && k < list->u.array.len; k++)
    if (!(o->remove && is_our_hook (list->u.array.values[k], o->hook_path))
        && json_gen_value (g, list->u.array.values[k]) < 0)
      return -1;
  if (add && (w->start_entry ? gen_mirrored_entry (g, w->start_entry, key) : gen_our_entry (g, o, key)) < 0)
    return -1;
  return yajl_gen_array_close (g) == yajl_gen_status_ok ? 0 : -1;
}

static int
gen_hooks (yajl_gen g, yajl_val hooks, const struct inject_options *o, const struct wanted *w)
{
  bool stage_seen = false, poststop_seen = false;

  if (json_gen_cstring (g, "hooks") < 0 || yajl_gen_map_open (g) != yajl_gen_status_ok)
    return -1;
  for (size_t i = 0; hooks && i < hooks->u.object.len; i++)
    {
      const char *key = hooks->u.object.keys[i];
      yajl_val list = hooks->u.object.values[i];
      int r;
      if (remove_empties (key, list, o))
        continue;
      if (is_our_stage (key) && YAJL_IS_ARRAY (list))
        r = gen_stage (g, key, list, o, w);
      else
        r = json_gen_cstring (g, key) < 0 ? -1 : json_gen_value (g, list);
      if (r < 0)
        return -1;
      stage_seen = stage_seen || strcmp (key, o->stage) == 0;
      poststop_seen = poststop_seen || strcmp (key, POSTSTOP) == 0;
    }
  if (wants (o, w, o->stage) && !stage_seen && gen_stage (g, o->stage, NULL, o, w) < 0)
    return -1;
  if (wants (o, w, POSTSTOP) && !poststop_seen && gen_stage (g, POSTSTOP, NULL, o, w) < 0)
    return -1;
  return yajl_gen_map_close (g) == yajl_gen_status_ok ? 0 : -1;
}

static int
gen_config (yajl_gen g, yajl_val root, const struct inject_options *o, const struct wanted *w)
{
  bool hooks_seen = false;

  if (yajl_gen_map_open (g) != yajl_gen_status_ok)
    return -1;
  for (size_t i = 0; i < root->u.object.len; i++)
    {
      const char *key = root->u.object.keys[i];
      yajl_val v = root->u.object.values[i];
      int r;
      if (strcmp (key, "hooks") == 0 && remove_empties_hooks (v, o))
        continue;
      if (strcmp (key, "hooks") == 0 && (YAJL_IS_OBJECT (v) || YAJL_IS_NULL (v)))
        {
          r = gen_hooks (g, YAJL_IS_OBJECT (v) ? v : NULL, o, w);
          hooks_seen = true;
        }
      else
        r = json_gen_cstring (g, key) < 0 ? -1 : json_gen_value (g, v);
      if (r < 0)
        return -1;
    }
  if (!o->remove && !hooks_seen && gen_hooks (g, NULL, o, w) < 0)
    return -1;
  return yajl_gen_map_close (g) == yajl_gen_status_ok ? 0 : -1;
}

/* LIST0 and LIST1 (arrays or NULL) hold the same entries but ours. */
static bool
same_but_our_entries (yajl_val list0, yajl_val list1, const char *hook_path)
{
  size_t i = 0, j = 0, n0 = list0 ? list0->u.array.len : 0, n1 = list1 ? list1->u.array.len : 0;

  for (;;)
    {
      while (i < n0 && is_our_hook (list0->u.array.values[i], hook_path))
        i++;
      while (j < n1 && is_our_hook (list1->u.array.values[j], hook_path))
        j++;
      if (i == n0 || j == n1)
        return i == n0 && j == n1;
      if (!json_equal (list0->u.array.values[i++], list1->u.array.values[j++]))
        return false;
    }
}

/* Is member I of OBJ one inject may change: "hooks" of the config (LEVEL
 * 0), or one of our stage lists in it (LEVEL 1)? */
static bool
ours_to_change (yajl_val obj, size_t i, int level)
{
  yajl_val v = obj->u.object.values[i];
  if (level == 0)
    return strcmp (obj->u.object.keys[i], "hooks") == 0 && (YAJL_IS_OBJECT (v) || YAJL_IS_NULL (v));
  return is_our_stage (obj->u.object.keys[i]) && YAJL_IS_ARRAY (v);
}

/* Objects A and B (B may be NULL) agree member by member, in order, but for
 * the members inject may change, which are compared by LEVEL's own rule. */
static bool
same_but_ours (yajl_val a, yajl_val b, int level, const char *hook_path)
{
  size_t i = 0, j = 0, na = a ? a->u.object.len : 0, nb = b ? b->u.object.len : 0;

  for (;;)
    {
      while (i < na && ours_to_change (a, i, level))
        i++;
      while (j < nb && ours_to_change (b, j, level))
        j++;
      if (i == na || j == nb)
        break;
      if (strcmp (a->u.object.keys[i], b->u.object.keys[j]) != 0
          || !json_equal (a->u.object.values[i++], b->u.object.values[j++]))
        return false;
    }
  if (i != na || j != nb)
    return false;
  if (level == 0)
    {
      yajl_val h0 = json_member (a, "hooks"), h1 = json_member (b, "hooks");
      return same_but_ours (YAJL_IS_OBJECT (h0) ? h0 : NULL, YAJL_IS_OBJECT (h1) ? h1 : NULL, 1, hook_path);
    }
  for (size_t k = 0; k < sizeof our_stages / sizeof our_stages[0]; k++)
    {
      yajl_val l0 = json_member (a, our_stages[k]), l1 = json_member (b, our_stages[k]);
      if (!same_but_our_entries (YAJL_IS_ARRAY (l0) ? l0 : NULL, YAJL_IS_ARRAY (l1) ? l1 : NULL, hook_path))
        return false;
    }
  return true;
}

/* Read back what we are about to write: the runtime must run the config
 * the engine wrote, with our entries the only difference. */
static int
check_written (const char *path, yajl_val orig, const char *out, size_t len, const struct inject_options *o,
               hook_error_t **err)
{
  cleanup_json_tree yajl_val back = NULL;

  if (json_parse (out, len, path, &back, err) < 0)
    return error_prefix (err, "inject would write");
  if (!YAJL_IS_OBJECT (back) || !same_but_ours (orig, back, 0, o->hook_path))
    return make_error (err, 0, "%s: written back, the config would differ from the original beyond our hook entries",
                       path);
  return 0;
}

/* Replace PATH with TEXT: a temp file beside it with the same mode and
 * owner, synced, then renamed over it, so no reader sees half a file. */
static int
write_atomically (const char *path, const struct stat *orig, const char *text, size_t len, hook_error_t **err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;

  if (asprintf (&tmp, "%s.oci-idmap-XXXXXX", path) < 0)
    return make_error (err, ENOMEM, "write '%s'", path);
  fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0)
    return make_error (err, errno, "create a temporary file beside '%s'", path);
  if (fchown (fd, orig->st_uid, orig->st_gid) < 0 || fchmod (fd, orig->st_mode & 07777) < 0)
    goto fail;
  if (write_all (fd, text, len) < 0 || fsync (fd) < 0 || rename (tmp, path) < 0)
    goto fail;
  return 0;

fail:
  make_error (err, errno, "write '%s'", path);
  unlink (tmp);
  return -1;
}

int
inject_bundle (const char *bundle, const struct inject_options *opts, struct inject_result *res, hook_error_t **err)
{
  cleanup_free char *path = NULL, *text = NULL, *out = NULL;
  cleanup_json_tree yajl_val tree = NULL;
  cleanup_json_gen yajl_gen g = NULL;
  yajl_val hooks;
  struct stat st;
  size_t len, out_len;
  struct wanted w;

  *res = (struct inject_result){ .start = false };
  if (oci_config_read (bundle, &path, &text, &len, &st, err) < 0 || json_parse (text, len, path, &tree, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (tree))
    return make_error (err, 0, "%s: expected a JSON object", path);
  hooks = json_member (tree, "hooks");
  /* Anything else would be written back beside a second "hooks". */
  if (hooks != NULL && !YAJL_IS_OBJECT (hooks) && !YAJL_IS_NULL (hooks))
    return make_error (err, 0, "%s: \"hooks\" must be an object", path);
  /* A stage of ours that is not a list would be copied as it is, without us. */
  for (size_t i = 0; hooks && YAJL_IS_OBJECT (hooks) && i < hooks->u.object.len; i++)
    if (is_our_stage (hooks->u.object.keys[i]) && !YAJL_IS_ARRAY (hooks->u.object.values[i])
        && !YAJL_IS_NULL (hooks->u.object.values[i]))
      return make_error (err, 0, "%s: \"hooks\".\"%s\" must be a list", path, hooks->u.object.keys[i]);
  w.start_entry = first_ours (hooks, opts->hook_path, false);
  w.start = w.start_entry == NULL;
  w.poststop = first_ours (hooks, opts->hook_path, true) == NULL;
  if (w.start_entry && !opts->remove && w.poststop)
    {
      yajl_val args = json_member (w.start_entry, "args");
      const char *last = YAJL_IS_ARRAY (args) && args->u.array.len > 1
                                 && YAJL_IS_STRING (args->u.array.values[args->u.array.len - 1])
                             ? args->u.array.values[args->u.array.len - 1]->u.string
                             : "";
      if (!YAJL_IS_OBJECT (w.start_entry) || (strcmp (last, "prestart") != 0 && strcmp (last, "createRuntime") != 0))
        {
          make_error (err, 0, "%s: the hook is registered without its stage as the last argument", path);
          return error_hint (err, "add its poststop entry by hand (chown+restore is undone there)");
        }
    }
  /* Adding where we are already, or removing when no stage has us, is a no-op. */
  if ((opts->remove && w.start && w.poststop) || (!opts->remove && !w.start && !w.poststop))
    return 0;
  g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return make_error (err, ENOMEM, "generate '%s'", path);
  /* json_parse took only valid UTF-8; the hook's own path must be too. */
  yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  /* Keep a human-formatted file human-formatted. */
  if (memchr (text, '\n', len) != NULL)
    {
      yajl_gen_config (g, yajl_gen_beautify, 1);
      yajl_gen_config (g, yajl_gen_indent_string, "\t");
    }
  if (gen_config (g, tree, opts, &w) < 0)
    return make_error (err, 0, "%s: cannot re-generate the JSON", path);
  if (json_gen_take (g, &out, &out_len, err) < 0 || check_written (path, tree, out, out_len, opts, err) < 0
      || write_atomically (path, &st, out, out_len, err) < 0)
    return -1;
  /* Added where ours was missing; removed where it was. */
  res->start = opts->remove ? !w.start : w.start;
  res->poststop = opts->remove ? !w.poststop : w.poststop;
  return 0;
}
