-- Buffer sync (private). Each shared buffer keeps a shadow copy of its lines, so that every
-- change Neovim reports (on_lines) becomes an exact protocol change against the text the daemon
-- knows, whatever produced it (typing, :s, undo, paste, :e!). The daemon's text is the file as
-- written: the lines joined by the file format's line break, plus a final one when 'eol' is set.
-- Remote changes are applied with nvim_buf_set_text while `applying` is set, so they are not sent
-- back. The revision rule: buffer/edit carries the count of buffer/didChange applied; a
-- buffer/didChange is applied only when its revision equals the count of buffer/edit sent,
-- otherwise dropped (the daemon sends a transformed replacement). This side never transforms.
-- For reconnects it also keeps the inverse of every local change the daemon has not confirmed,
-- so that it can tell the daemon the text it last had in step with it (`base` of buffer/open),
-- and the id of every unanswered edit with the text right after it (`pending`): an edit the
-- daemon applied and saved just before the connection went is then not merged a second time.
if jit then jit.off(true, true) end -- see init.lua: LuaJIT's compiled traces crash Neovim 0.7.2
local protocol = require('chorus.protocol')
local text = require('chorus.text')
local util = require('chorus.util')

local api = vim.api
local methods = protocol.methods

local M = {}

---@type table<integer, table> bufnr -> shared buffer state
M.buffers = {}

local cursor_ns = api.nvim_create_namespace('chorus_cursor_keep')
-- The mark on a buffer that stopped following the session (see not_following).
local not_following_ns = api.nvim_create_namespace('chorus_not_following')

-- Hooks set by init.lua: on_open(state), on_edit(state) (after a local edit is queued),
-- on_local(state) (an ignored file), gave_way(state, other_bufnr, from, to) (see did_rename),
-- gone(state) (no longer shared: its file was deleted while away, see M.gone).
M.hooks = {}

local function sep_of(state)
  return state.crlf and '\r\n' or '\n'
end

--- The daemon's view of the buffer: its text as written to a file.
function M.model_text(state)
  local sep = sep_of(state)
  local s = table.concat(state.lines, sep)
  if state.eol then
    s = s .. sep
  end
  return s
end

local function buffer_model(bufnr, state)
  local lines = api.nvim_buf_get_lines(bufnr, 0, -1, true)
  local sep = sep_of(state)
  return table.concat(lines, sep) .. (vim.bo[bufnr].eol and sep or ''), lines
end

--- Find the shared buffer for a daemon path on a connection.
function M.find(conn, path)
  for _, st in pairs(M.buffers) do
    if st.conn == conn and st.path == path then
      return st
    end
  end
  return nil
end

-- ---- sending ------------------------------------------------------------------------------

-- Edit ids (`id` of buffer/edit): random per Neovim process, then a counter, so that they stay
-- unique across daemon restarts and among the editors of a project.
local edit_prefix
local edit_count = 0

local function next_edit_id()
  if not edit_prefix then
    local ok, bytes = pcall(util.uv.random, 6)
    local rand = ok and bytes:gsub('.', function(c)
      return ('%02x'):format(c:byte())
    end) or ('%x'):format(util.uv.hrtime() % 0x100000000)
    edit_prefix = ('nvim-%d-%s-'):format(util.uv.os_getpid(), rand)
  end
  edit_count = edit_count + 1
  return edit_prefix .. edit_count
end

--- Send queued local changes: one buffer/edit per Neovim undo block they came from, the first of
--- each new block marked as a new step for :ChorusUndo (the daemon also splits at pauses).
function M.flush(state)
  local pending = state.pending
  if #pending == 0 then
    return
  end
  state.pending = {}
  if state.status ~= 'open' then
    return
  end
  local i = 1
  while i <= #pending do
    local j = i
    while j < #pending and pending[j + 1].nr == pending[i].nr do
      j = j + 1
    end
    local changes, inv = {}, {}
    for k = i, j do
      changes[#changes + 1] = pending[k].change
      inv[#inv + 1] = pending[k].inv
    end
    local nr = pending[i].nr
    local undo_stop = nr ~= nil and state.changenr ~= nil and nr ~= state.changenr
    if nr ~= nil then
      state.changenr = nr
    end
    M.send_edit(state, changes, inv, undo_stop)
    i = j + 1
  end
end

--- One buffer/edit; `inv` undoes `changes` (kept until the daemon has processed them).
function M.send_edit(state, changes, inv, undo_stop)
  local revision = state.daemon_rev
  state.editor_rev = state.editor_rev + 1
  state.in_flight = state.in_flight + 1
  local seq = state.editor_rev
  local id = next_edit_id()
  state.unconfirmed[#state.unconfirmed + 1] = { seq = seq, id = id, inv = inv }
  local epoch = state.epoch
  state.conn:request(methods.buffer_edit, {
    path = state.path,
    revision = revision,
    changes = changes,
    undoStop = undo_stop or nil,
    id = id,
  }, function(err)
    if state.epoch ~= epoch then
      return -- an answer from before a re-open
    end
    state.in_flight = state.in_flight - 1
    if err then
      state.refused = true
      if state.status == 'open' and state.conn:is_ready() then
        -- Out of step with the daemon: re-open with our text; the daemon merges our changes
        -- since the last text we had in step (or since the newest later edit it applied).
        M.remember_base(state)
        M.reopen(state, 'buffer/edit failed: ' .. util.error_text(err))
      end
    else
      M.confirm(state, seq)
      M.settle(state)
    end
    if state.in_flight == 0 and state.when_answered then
      local answered = state.when_answered
      state.when_answered = nil
      answered()
    end
  end)
  -- (when the request could not be sent, the callback above has already run with an error)
end

local function schedule_flush(state)
  if state.flush_scheduled then
    return
  end
  state.flush_scheduled = true
  vim.schedule(function()
    state.flush_scheduled = false
    if M.buffers[state.bufnr] == state then
      M.flush(state)
    end
  end)
end

--- With nothing in flight, the daemon has the buffer's text and writes it to the file itself:
--- the buffer has nothing unsaved.
function M.settle(state)
  if
    state.config.manage_modified
    and state.status == 'open'
    and #state.pending == 0
    and state.in_flight == 0
    and api.nvim_buf_is_valid(state.bufnr)
  then
    vim.bo[state.bufnr].modified = false
  end
end

-- ---- what the daemon has confirmed ----------------------------------------------------------

--- The daemon has processed our edits up to `seq` (every edit when nil): forget their inverses.
function M.confirm(state, seq)
  local groups = state.unconfirmed
  if seq == nil then
    state.unconfirmed = {}
    return
  end
  local keep = {}
  for _, g in ipairs(groups) do
    if g.seq > seq then
      keep[#keep + 1] = g
    end
  end
  state.unconfirmed = keep
end

--- The text the buffer last had in step with the daemon: the current text with every local
--- change the daemon has not confirmed undone. (Remote changes are applied only once the daemon
--- has processed every edit we sent, so none sits between unconfirmed local changes.)
--- Second value: the unconfirmed edits, oldest first, as `{ id, text }` with the text right
--- after each (`pending` of buffer/open); nil when the base cannot be told.
function M.base_text(state)
  local s = M.model_text(state)
  local function revert(inv)
    local ok, undone = pcall(text.apply, s, inv)
    s = ok and undone or nil
    return ok
  end
  for i = #state.pending, 1, -1 do
    if not revert(state.pending[i].inv) then
      return nil -- cannot tell: the editor's text wins
    end
  end
  local groups = state.unconfirmed
  local after = {}
  for gi = #groups, 1, -1 do
    after[gi] = { id = groups[gi].id, text = s }
    local inv = groups[gi].inv
    for i = #inv, 1, -1 do
      if not revert(inv[i]) then
        return nil
      end
    end
  end
  return s, after
end

-- The protocol's limit on `pending`; the daemon applies edits in order, so the newest are kept.
local MAX_PENDING = 64

--- Set `base` (and `base_pending`) for the next buffer/open: the text last in step and the
--- unanswered edits sent since, which the daemon may have applied before the connection went.
function M.remember_base(state)
  local base, after = M.base_text(state)
  state.base = base
  state.base_pending = nil
  if base ~= nil and after and #after > 0 then
    state.base_pending = vim.list_slice(after, math.max(1, #after - MAX_PENDING + 1))
  end
end

--- `base` is `text` from now on, a text the daemon has merged or will take in: no edit sent
--- before it is pending any more (an older pending text must never replace a newer base).
function M.set_base(state, text)
  state.base = text
  state.base_pending = nil
end

-- ---- receiving local changes ----------------------------------------------------------------

local function queue(state, change, removed)
  if state.status ~= 'open' or state.applying then
    return
  end
  -- Which Neovim undo block this change belongs to (known for the current buffer only).
  local nr = api.nvim_get_current_buf() == state.bufnr and vim.fn.changenr() or nil
  state.pending[#state.pending + 1] = { change = change, inv = text.inverse(change, removed), nr = nr }
  schedule_flush(state)
  if M.hooks.on_edit then
    M.hooks.on_edit(state)
  end
end

--- Where the change on_lines is about began (on_bytes's start, which Neovim reports just
--- before it), as a byte offset into the region of old lines `r_first`..`last` (0-based, end
--- exclusive) joined with `sep`; nil when on_bytes said nothing or somewhere else.
local function hint_offset(state, lines, r_first, last, sep)
  local hint = state.hint
  if not hint or hint.row < r_first or hint.row >= last then
    return nil
  end
  local off = hint.col
  for i = r_first + 1, hint.row do
    off = off + #lines[i] + #sep
  end
  return off
end

local function on_lines(_, bufnr, _, first, last, new_last)
  local state = M.buffers[bufnr]
  if not state or state.detached then
    return true
  end
  local lines = state.lines
  local n_old = #lines
  local n_now = api.nvim_buf_line_count(bufnr)
  if n_old - (last - first) + (new_last - first) ~= n_now or last > n_old then
    -- Not the shape we expect: treat it as a change of the whole buffer.
    first, last, new_last = 0, n_old, n_now
  end
  local new = api.nvim_buf_get_lines(bufnr, first, new_last, true)
  -- The region reaches the end and adds or removes whole lines: include the line before, so
  -- that the change never has to name a position after the last line break (there is none
  -- without 'eol').
  local r_first = first
  if (last - first == 0 or new_last - first == 0) and last == n_old and first > 0 then
    r_first = first - 1
  end
  if not state.applying and state.status == 'open' then
    local sep = sep_of(state)
    if state.fresh then
      -- A new (empty) file is the empty text; with its first content it gets the final line
      -- break Neovim writes ('fixeol'), so :write and the shared file agree.
      state.fresh = false
      state.eol = true
      local origin = { line = 0, character = 0 } -- the end of the empty text
      queue(state, { range = { start = origin, ['end'] = origin }, text = sep }, '')
    end
    local old_region = text.slice(lines, r_first + 1, last)
    local new_region = text.slice(lines, r_first + 1, first)
    vim.list_extend(new_region, new)
    -- Each line with its line break (the last one's may be virtual: see above).
    local a = #old_region > 0 and table.concat(old_region, sep) .. sep or ''
    local b = #new_region > 0 and table.concat(new_region, sep) .. sep or ''
    local change, removed = text.diff(a, b, r_first, hint_offset(state, lines, r_first, last, sep))
    if change then
      queue(state, change, removed)
    end
  end
  state.hint = nil
  text.splice(lines, first, last, new)
end

--- on_bytes: only where the change begins is kept, for on_lines (which follows it) to place text
--- typed next to equal characters where it was typed (text.diff's `at`).
local function on_bytes(_, bufnr, _, start_row, start_col)
  local state = M.buffers[bufnr]
  if not state or state.detached then
    return true
  end
  state.hint = { row = start_row, col = start_col }
end

--- The whole buffer may have changed (reload): send the difference from the shadow.
local function resync_whole(state)
  local bufnr = state.bufnr
  if not api.nvim_buf_is_loaded(bufnr) then
    return
  end
  local old = M.model_text(state)
  state.crlf = vim.bo[bufnr].fileformat == 'dos'
  state.eol = vim.bo[bufnr].eol
  local new, lines = buffer_model(bufnr, state)
  state.lines = lines
  if state.status == 'open' then
    local change, removed = text.diff(old, new, 0)
    if change then
      queue(state, change, removed)
    end
  end
end

local attach -- forward

local function on_detach(_, bufnr)
  local state = M.buffers[bufnr]
  if not state or state.detached then
    return
  end
  -- Neovim 0.7 detaches on :e! (reload); newer ones call on_reload. Re-attach if the buffer is
  -- still there.
  vim.schedule(function()
    if M.buffers[bufnr] ~= state then
      return
    end
    if api.nvim_buf_is_loaded(bufnr) then
      attach(state)
      resync_whole(state)
    else
      M.close(bufnr)
    end
  end)
end

local function on_reload(_, bufnr)
  vim.schedule(function()
    local state = M.buffers[bufnr]
    if state then
      resync_whole(state)
    end
  end)
end

attach = function(state)
  api.nvim_buf_attach(state.bufnr, false, {
    on_bytes = on_bytes,
    on_lines = on_lines,
    on_reload = on_reload,
    on_detach = on_detach,
  })
end

-- ---- applying remote changes ------------------------------------------------------------------

--- nvim_buf_set_text, working around Neovim 0.7: a range over several lines whose first line was
--- just changed (and is still held unsaved in the memline) reads freed memory and writes garbage.
--- Reading another line first stores the changed one.
local function set_text(bufnr, sr, sc, er, ec, lines)
  if sr ~= er then
    api.nvim_buf_get_lines(bufnr, er, er + 1, false)
  end
  api.nvim_buf_set_text(bufnr, sr, sc, er, ec, lines)
end

local function apply_change(state, change)
  local bufnr = state.bufnr
  local lines = state.lines
  local n = #lines
  local s, e = change.range.start, change.range['end']
  local t = change.text
  local pieces = text.split(t, state.crlf)
  local function clamp(pos)
    local line = lines[pos.line + 1]
    if line == nil then
      error(('position %d:%d is past the end of the buffer'):format(pos.line, pos.character))
    end
    return math.min(pos.character, #line)
  end
  if state.eol and e.line == n then
    -- The change reaches past the final line break, which the buffer keeps as 'eol' (there is
    -- no line after it in Neovim). Seen with a virtual empty line after it, the text after the
    -- change ends with a line break when its last line is empty: the line that ends the
    -- inserted text, or (with no line break inserted) what is left of the start's line.
    local k = #pieces
    local last = k > 1 and pieces[k] or ((s.line < n and lines[s.line + 1]:sub(1, clamp(s)) or '') .. pieces[1])
    local ends_with_break = last == '' and (k > 1 or s.line > 0)
    if k > 1 and ends_with_break then
      table.remove(pieces)
    end
    if s.line == n then
      -- At the very end: lines added after the last one.
      if t ~= '' then
        api.nvim_buf_set_lines(bufnr, n, n, true, pieces)
      end
    elseif k == 1 and ends_with_break then
      -- Whole lines deleted from the start's line on: the line break before them is the final
      -- one now (set_text would leave an empty line there).
      api.nvim_buf_set_lines(bufnr, s.line, n, true, {})
    else
      set_text(bufnr, s.line, clamp(s), n - 1, #lines[n], pieces)
    end
    if state.eol ~= ends_with_break then
      M.set_eol(state, ends_with_break)
    end
    return
  end
  local sc, ec = clamp(s), clamp(e)
  set_text(bufnr, s.line, sc, e.line, ec, pieces)
  if not state.eol and e.line == n - 1 and #lines > 1 and lines[#lines] == '' then
    -- The text ends with a line break now (one added to a file without): the buffer shows it
    -- as 'eol', not as an empty line after it. The same text either way.
    api.nvim_buf_set_lines(bufnr, #lines - 1, #lines, true, {})
    M.set_eol(state, true)
  end
end

--- Set the final line break. Without one, 'fixeol' goes off (Neovim would add one on :w); with
--- one, it comes back as the buffer had it.
function M.set_eol(state, eol)
  state.eol = eol
  local bo = vim.bo[state.bufnr]
  if not eol then
    bo.fixeol = false
  elseif state.fixeol ~= nil then
    bo.fixeol = state.fixeol
  end
  bo.eol = eol
end

--- The buffer holds the empty text after a peer's change: as for an empty file opened here, the
--- first text typed into it gets the final line break Neovim writes ('fixeol'; see on_lines).
local function became_empty(state)
  if state.eol or #state.lines ~= 1 or state.lines[1] ~= '' then
    return
  end
  local bo = vim.bo[state.bufnr]
  if state.fixeol ~= nil then
    bo.fixeol = state.fixeol
  end
  bo.eol = true -- (shows no line break: with 'fixeol' Neovim writes an empty buffer empty)
  state.fresh = bo.fixeol
end

--- Apply remote changes, keeping every window's cursor where it was in the text.
local function apply_changes(state, changes)
  local bufnr = state.bufnr
  local keep = {}
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == bufnr then
      local pos = api.nvim_win_get_cursor(win)
      local ok, id = pcall(api.nvim_buf_set_extmark, bufnr, cursor_ns, pos[1] - 1, pos[2], { right_gravity = false })
      if ok then
        keep[win] = id
      end
    end
  end
  state.applying = true
  local ok, err = pcall(function()
    for _, change in ipairs(changes) do
      apply_change(state, change)
    end
  end)
  state.applying = false
  for win, id in pairs(keep) do
    local pos = api.nvim_buf_get_extmark_by_id(bufnr, cursor_ns, id, {})
    if pos[1] and api.nvim_win_is_valid(win) and api.nvim_win_get_buf(win) == bufnr then
      pcall(api.nvim_win_set_cursor, win, { pos[1] + 1, pos[2] })
    end
  end
  api.nvim_buf_clear_namespace(bufnr, cursor_ns, 0, -1)
  return ok, err
end

--- Make the buffer show `content` (the daemon's text), as one minimal change.
local function adopt(state, content)
  local current = M.model_text(state)
  local change = text.diff(current, content, 0)
  if not change then
    return true
  end
  return apply_changes(state, { change })
end

--- buffer/didChange from the daemon.
function M.did_change(conn, params)
  local state = M.find(conn, params.path)
  if not state or state.status ~= 'open' then
    return
  end
  -- Our queued typing happened before this arrived: it goes first.
  M.flush(state)
  if params.revision ~= state.editor_rev then
    state.dropped = state.dropped + 1
    return
  end
  state.daemon_rev = state.daemon_rev + 1
  if state.fresh then
    -- Content from elsewhere decides the final line break from now on.
    state.fresh = false
    M.set_eol(state, false)
  end
  -- Applied only when the daemon had processed every edit we sent: all of them are in step.
  M.confirm(state, nil)
  local ok, err = apply_changes(state, params.changes)
  if not ok then
    M.reopen(state, 'could not apply a change: ' .. tostring(err))
    return
  end
  became_empty(state)
  if state.crlf then
    for _, change in ipairs(params.changes) do
      if change.text:find('[^\r]\n') or change.text:find('^\n') then
        -- A 'fileformat=dos' buffer cannot hold a lone "\n": re-open, which makes it "\r\n".
        M.reopen(state, 'a lone line feed in a fileformat=dos buffer')
        return
      end
    end
  end
  M.settle(state)
end

-- ---- opening ----------------------------------------------------------------------------------

--- buffer/open with the buffer's current text; adopt the daemon's merged answer. If the buffer
--- changed while the request was out, open again with the newer text.
function M.open(state)
  if not state.conn:is_ready() then
    state.status = 'offline'
    return
  end
  -- Typing queued in this project's other buffers goes first: the daemon takes this open in
  -- the order sent, and it may move a file they have open (a rename made on disk, then `:edit`
  -- of the new name: the open takes the move in, decision 205). Sent after it, that typing would
  -- reach a path the daemon no longer has open for this editor.
  for _, other in pairs(M.buffers) do
    if other ~= state and other.conn == state.conn and other.status == 'open' then
      M.flush(other)
    end
  end
  state.status = 'opening'
  state.epoch = state.epoch + 1
  -- Only the newest open's answer counts: take_session_text may re-open a buffer whose open is
  -- still out (a reconnect's), and that older answer (a refusal) must not undo the newer one.
  local epoch = state.epoch
  state.pending = {}
  state.in_flight = 0
  state.unconfirmed = {}
  M.first_content(state)
  local sent = M.model_text(state)
  local name = api.nvim_buf_get_name(state.bufnr)
  -- With `base` (set when the connection or an edit was lost) the daemon merges only what
  -- changed here since then, keeping what others did meanwhile; without it our text wins.
  local params = { path = name, content = sent, base = state.base }
  if state.base ~= nil and state.base_pending then
    params.pending = state.base_pending
  end
  -- A re-open of a buffer with no typing of its own (its text is the one last in step, nothing
  -- unanswered) goes without its text: the daemon's text wins anyway, and a file deleted while
  -- the buffer was away (a branch switch, `rm`, then a daemon restarted: it no longer knows of
  -- the deletion) is answered "not found" instead of being made again, with the buffer's text,
  -- on every peer. The buffer then stops being shared (M.gone). With typing of its own, the
  -- text goes: typing the deletion never saw brings the file back (decision 160).
  local probe = state.opened and state.base ~= nil and state.base == sent and not state.base_pending
  if probe then
    params.content = nil
  end
  -- A new file's buffer is written through BufWriteCmd alone while its open is out. The daemon
  -- makes the file meanwhile, and Vim refuses to write a buffer opened as a new file over a file
  -- that exists ("E13: File exists") before any BufWriteCmd runs: `:edit new.md | … | write` in
  -- one command (a script, a plugin) failed so. 'acwrite' skips that check, and M.write waits for
  -- this answer. The buffer is a plain one again once the answer is in (M.plain_again).
  if state.new_file and state.plain_buftype == nil and vim.bo[state.bufnr].buftype == '' then
    state.plain_buftype = ''
    vim.bo[state.bufnr].buftype = 'acwrite'
  end
  state.conn:request(methods.buffer_open, params, function(err, result)
    if M.buffers[state.bufnr] ~= state or state.status ~= 'opening' or state.epoch ~= epoch then
      return
    end
    M.plain_again(state)
    local asked = state.asked_to_follow
    state.asked_to_follow = nil
    -- (A file whose content has not come from the peers yet is no deletion: `data.reason`.)
    local not_arrived = type(err) == 'table' and type(err.data) == 'table' and err.data.reason == 'notArrived'
    if err and probe and err.code == protocol.errors.FileNotFound and not not_arrived then
      if M.model_text(state) ~= sent then
        M.open(state) -- typed while the open was out: that typing is the person's, it goes
      else
        M.gone(state)
      end
      return
    end
    if err then
      state.status = 'failed'
      local msg = ('cannot share %s: %s'):format(name, util.error_text(err))
      -- A buffer that followed the session (its file is the session's) and whose own change a
      -- read-only member cannot share: it keeps the person's text, so it no longer shows the
      -- others' changes. Said with the refusal, and marked on the buffer for as long as it lasts
      -- (a trial's reader watched a buffer that had silently stopped following for 20 minutes).
      if state.opened and err.code == protocol.errors.ReadOnly then
        M.not_following(state)
        msg = msg .. '. ' .. M.not_following_text(state)
      end
      if asked then
        -- The person asked for the session's text (:ChorusReconnect): an answer is due each time.
        util.notify(('%s still does not follow the session: %s'):format(name, util.error_text(err)), vim.log.levels.WARN)
      else
        M.tell_once(state.bufnr, msg)
      end
      return
    end
    if M.model_text(state) ~= sent then
      -- Typed while the open was out: the daemon has merged `sent`; merge only what followed.
      M.set_base(state, sent)
      M.open(state)
      return
    end
    state.path = result.path
    M.set_base(state, nil)
    if result.shared == false then
      -- An ignored file: the daemon keeps it on this machine. Edit it as a plain local file.
      state.status = 'local'
      state.not_shared = result.notShared or 'this file is not shared'
      -- Once per buffer: every re-open (a reconnect) is answered the same (a trial saw it again).
      M.tell_once(state.bufnr, state.not_shared, vim.log.levels.INFO)
      if M.hooks.on_local then
        M.hooks.on_local(state)
      end
      return
    end
    state.not_shared = nil
    state.opened = true
    local was_not_following = state.not_following
    state.fresh = state.fresh and result.content == ''
    local was_new = state.new_file
    state.new_file = false
    state.editor_rev, state.daemon_rev, state.dropped = 0, 0, 0
    local ok, apply_err = adopt(state, result.content)
    if not ok then
      -- Could not apply as a change: replace everything.
      state.applying = true
      local lines = text.split(result.content, state.crlf)
      local eol = result.content:sub(-1) == '\n'
      if eol then
        table.remove(lines)
      end
      pcall(api.nvim_buf_set_lines, state.bufnr, 0, -1, false, lines)
      state.applying = false
      M.set_eol(state, eol)
      util.notify('replaced the buffer with the shared text: ' .. tostring(apply_err), vim.log.levels.DEBUG)
    end
    state.status = 'open'
    state.changenr = api.nvim_get_current_buf() == state.bufnr and vim.fn.changenr() or nil
    if was_not_following then
      M.clear_not_following(state)
      util.notify(('%s follows the session again: the buffer shows its text (undo brings back the text you had)'):format(state.path))
    end
    if was_new then
      M.mark_written(state) -- the daemon holds the file now: it exists
    end
    M.settle(state)
    if M.hooks.on_open then
      M.hooks.on_open(state)
    end
  end)
end

--- A new (empty) file's buffer that got its first content while not open here (`:edit new.md |
--- call setline(…)` in one command, the daemon not answered or not connected yet) has the final
--- line break Neovim writes from now on, as typing gets it once the buffer is open (on_lines).
function M.first_content(state)
  if state.fresh and not (#state.lines == 1 and state.lines[1] == '') then
    state.fresh = false
    state.eol = true
  end
end

--- The buffer type a new file's buffer had before its open went out (see M.open), back.
function M.plain_again(state)
  if state.plain_buftype == nil then
    return
  end
  if api.nvim_buf_is_valid(state.bufnr) and vim.bo[state.bufnr].buftype == 'acwrite' then
    vim.bo[state.bufnr].buftype = state.plain_buftype
  end
  state.plain_buftype = nil
end

--- Show `msg` (a refusal to share buffer `bufnr`) unless this buffer showed it already. Every
--- re-open of the buffer (after a refused edit, a reconnection, a reload) meets the same refusal,
--- as in a folder joined read-only: said once, it is news; said again, it is noise. Kept in a
--- buffer variable, so it lasts as long as the buffer, across re-attaching. `level`: WARN unless
--- given.
function M.tell_once(bufnr, msg, level)
  local told = api.nvim_buf_is_valid(bufnr) and vim.b[bufnr].chorus_told or {}
  if told[msg] then
    return
  end
  told[msg] = true
  if api.nvim_buf_is_valid(bufnr) then
    vim.b[bufnr].chorus_told = told
  end
  util.notify(msg, level or vim.log.levels.WARN)
end

--- The daemon kept this person's own version of project file `path` aside and the session's is
--- in the folder now (session/notice with `kept`): a buffer of it that is not following (its open
--- was refused: a read-only member's own file) re-opens with its text as `base`, so the daemon
--- merges nothing from it and the buffer takes the session's text, as a change (undo brings the
--- person's text back). A buffer that follows already gets the session's text by buffer/didChange.
--- A buffer that stopped following whose open is out again (a reconnect re-opens every buffer,
--- with the text last in step as `base`, which the daemon refuses again) takes part too: the
--- notice may come while that open is out, and was lost (a trial: the notice said the editor had
--- the session's version; the buffer stayed `failed`).
function M.take_session_text(conn, path)
  local abs = conn.root .. '/' .. path
  for bufnr, state in pairs(M.buffers) do
    if state.conn == conn and state.status ~= 'open' and (state.status ~= 'opening' or state.not_following)
      and (state.path == path or api.nvim_buf_get_name(bufnr) == abs) then
      M.set_base(state, M.model_text(state))
      M.open(state)
    end
  end
end

--- What a buffer that stopped following says (in the refusal and on the buffer).
function M.not_following_text(state)
  return ('%s no longer follows the session here: it keeps your text, and others\' changes do not show in it; saving writes your text to the file here until a writer changes the session\'s version, which then replaces it there and in this buffer (yours is kept in .chorus/kept/); :ChorusReconnect shows the session\'s text again and follows it (undo then brings your text back)'):format(state.path)
end

--- Mark `state`'s buffer as not following the session (its own change was refused): a line
--- at the end of its first line, which stays until the buffer follows again, and
--- buffer_status().not_following for statuslines. Said once in a message only, a person who
--- missed it had no way to tell.
function M.not_following(state)
  state.not_following = true
  local bufnr = state.bufnr
  if not api.nvim_buf_is_valid(bufnr) then
    return
  end
  api.nvim_buf_clear_namespace(bufnr, not_following_ns, 0, -1)
  pcall(api.nvim_buf_set_extmark, bufnr, not_following_ns, 0, 0, {
    virt_text = { { 'Chorus: not following the session (your text stays here); :ChorusReconnect follows it again', 'WarningMsg' } },
    virt_text_pos = 'eol',
  })
end

function M.clear_not_following(state)
  state.not_following = nil
  if api.nvim_buf_is_valid(state.bufnr) then
    api.nvim_buf_clear_namespace(state.bufnr, not_following_ns, 0, -1)
  end
end

--- :ChorusReconnect: every buffer of `conn` that stopped following takes the session's text
--- again (re-opened with its own text as `base`: the daemon merges nothing of it and answers
--- with the session's text, adopted as one change). A reconnect is how a person gets back in
--- step; it kept such a buffer `failed`, re-opened with the refused change again. Opened now
--- when connected, else by connection_ready (`base` stays set while offline).
function M.follow_again(conn)
  for _, state in pairs(M.buffers) do
    if state.conn == conn and state.not_following and state.status ~= 'open' then
      M.set_base(state, M.model_text(state))
      state.asked_to_follow = true
      if conn:is_ready() then
        M.open(state)
      end
    end
  end
end

function M.reopen(state, why)
  if why and state.config.debug then
    util.notify('re-opening ' .. (state.path or '?') .. ': ' .. why, vim.log.levels.DEBUG)
  end
  M.open(state)
end

--- The shared buffer (its state) of another Neovim buffer that shows the same file as `bufnr`
--- does, through a symbolic link (`link.txt -> real.txt`), or nil. Neovim gives such a file one
--- buffer only while the file keeps the inode it had when read; the daemon replaces shared files
--- (a new inode) whenever a peer types, so `:edit link.txt` then makes a second buffer, which
--- the daemon would answer with the same project path (init.lua `_one_buffer`, decision 199).
function M.same_file(bufnr)
  local real = util.uv.fs_realpath(api.nvim_buf_get_name(bufnr))
  if not real then
    return nil -- not on disk (yet): no link to resolve
  end
  for other, state in pairs(M.buffers) do
    if other ~= bufnr and api.nvim_buf_is_valid(other) and util.uv.fs_realpath(api.nvim_buf_get_name(other)) == real then
      return state
    end
  end
  return nil
end

--- Share a buffer through `conn`. Returns the state, or nil when the buffer cannot be shared.
function M.attach(bufnr, conn, config)
  if M.buffers[bufnr] then
    return M.buffers[bufnr]
  end
  local bo = vim.bo[bufnr]
  if bo.fileformat == 'mac' then
    util.notify('fileformat=mac buffers are not shared', vim.log.levels.WARN)
    return nil
  end
  local lines = api.nvim_buf_get_lines(bufnr, 0, -1, true)
  local name = api.nvim_buf_get_name(bufnr)
  local eol = bo.eol
  local fresh = false
  if #lines == 1 and lines[1] == '' and vim.fn.getfsize(name) <= 0 then
    -- An empty or new file is the empty text, not a single line break, until it gets content
    -- (see on_lines): then the line break Neovim would write comes with it.
    eol = false
    fresh = bo.fixeol
  end
  local state = {
    bufnr = bufnr,
    conn = conn,
    config = config,
    -- 'fixeol' as the buffer had it (set_eol turns it off while the text has no final line break)
    fixeol = bo.fixeol,
    path = name,
    lines = lines,
    eol = eol,
    crlf = bo.fileformat == 'dos',
    status = 'new',
    fresh = fresh,
    -- the file did not exist when the buffer was opened (see mark_written)
    new_file = vim.fn.filereadable(name) == 0,
    editor_rev = 0,
    daemon_rev = 0,
    dropped = 0,
    pending = {},
    in_flight = 0,
    -- (did_rename, giving way with edits in flight) whether the daemon refused one since, and
    -- what to do once none is in flight
    refused = false,
    when_answered = nil,
    applying = false,
    -- local changes the daemon has not confirmed: { {seq = edit number, id = edit id, inv = {…}} }
    unconfirmed = {},
    epoch = 0, -- bumped by every (re-)open: answers to older edits are ignored
    -- the text last in step with the daemon, for the next buffer/open (nil: our text wins)
    base = nil,
    -- with `base`: the unanswered edits sent after it, { {id, text} } oldest first (`pending`)
    base_pending = nil,
  }
  -- A buffer just read from its file holds nothing of this person's yet: the daemon's text wins
  -- wherever it differs (it may be newer than the file, or the file may not be on disk here at
  -- all: view mode, a file a peer just made). A buffer changed before it was shared sends its
  -- changes since the file as its own.
  if not bo.modified then
    state.base = M.model_text(state)
  elseif vim.fn.filereadable(name) == 1 then
    local f = io.open(name, 'rb')
    if f then
      state.base = f:read('*a')
      f:close()
    end
  end
  if not eol and not fresh then
    M.set_eol(state, false)
  end
  -- The daemon keeps the file on disk in step; a change it wrote is not a conflict.
  bo.autoread = false
  M.buffers[bufnr] = state
  attach(state)
  M.open(state)
  return state
end

--- Is `state`'s open still to be answered: sent, or about to be once its connection is up (the
--- first file of this Neovim on a daemon, or a daemon being started)?
local function opening_soon(state)
  if state.status == 'opening' then
    return true
  end
  local cs = state.conn and state.conn.state
  return (state.status == 'offline' or state.status == 'new') and (cs == 'idle' or cs == 'connecting' or cs == 'ready')
end

--- :w of a shared buffer (BufWriteCmd). The daemon writes shared files itself, atomically, a few
--- milliseconds after each change, which Neovim would take for a conflicting outside change and
--- ask about. So the write is done here: queued edits go to the daemon first, then the daemon
--- writes the shared text now (`buffer/save`, answered once the file has it). This buffer may lack
--- a peer's change on its way to it; written by Neovim, the file was taken in as a change that
--- doubled this person's last typing or undid that change (decision 222). Without an answer (an
--- older daemon, none connected) the buffer's own text is written, as before.
---@return boolean ok
function M.write(state, target)
  local own = target == nil or target == '' or vim.fn.fnamemodify(target, ':p') == api.nvim_buf_get_name(state.bufnr)
  if own and opening_soon(state) then
    -- A :write in the very command that opened the buffer (`:edit new.md | … | write`): the
    -- daemon writes the file once the open is answered, as for any :w (at most 10 s, Neovim's
    -- loop running meanwhile). Written here before that, the file would be this buffer's text,
    -- taken in as a change while the daemon makes the file: a conflict copy. When it is the
    -- first file on that daemon, the connection is not even up yet (trial s58b).
    vim.wait(10000, function()
      return not opening_soon(state)
    end, 10)
  end
  M.flush(state)
  -- Marking a new buffer written (the daemon makes the file itself, see mark_written), or a
  -- write while this buffer's save waits for the daemon (a `:w` from a timer or another plugin
  -- runs during that wait): the daemon has the text and writes it; nothing to wait for again.
  if own and (state.marking or state.saving) and state.status == 'open' then
    vim.bo[state.bufnr].modified = false
    return true
  end
  if own and M.save_by_daemon(state) then
    vim.bo[state.bufnr].modified = false
    return true
  end
  if own then
    M.first_content(state)
  end
  local content = M.model_text(state)
  if own then
    M.declare_write(state, content)
  end
  local file = own and api.nvim_buf_get_name(state.bufnr) or vim.fn.fnamemodify(target, ':p')
  local lines = vim.split(content, '\n', { plain = true })
  local ok = (own and M.write_whole(state, file, lines)) or vim.fn.writefile(lines, file, 'b') == 0
  if not ok then
    util.notify('could not write ' .. file, vim.log.levels.ERROR)
    return false
  end
  if own then
    vim.bo[state.bufnr].modified = false
  end
  return true
end

--- Whether `state`'s daemon can be asked about saving it (`buffer/save`): the buffer is open in a
--- connected daemon that knows the method.
local function can_save_by_daemon(state)
  local conn = state.conn
  return state.status == 'open' and state.path ~= nil and conn ~= nil and conn:is_ready() and not conn.unsupported[methods.buffer_save]
end

--- Ask the daemon to write `state`'s file now (`buffer/save`) and wait for its answer (at most
--- 10 s, Neovim's loop running meanwhile, so the daemon's changes keep arriving). True once the
--- file holds the shared text; false when the caller should write the buffer itself (not open in
--- the daemon, an older daemon, no connection), after saying why if the daemon refused.
---@return boolean
function M.save_by_daemon(state)
  local conn = state.conn
  if not can_save_by_daemon(state) then
    return false
  end
  local done, failure = false, nil
  conn:request(methods.buffer_save, { path = state.path }, function(err)
    failure = err
    done = true
  end)
  state.saving = true
  local answered = vim.wait(10000, function()
    return done
  end, 10)
  state.saving = false
  if not answered then
    return false
  end
  if failure and failure.code == protocol.errors.ReadOnly then
    -- Not a failure: a read-only member's file is saved here, locally (the daemon's words say so).
    util.notify(util.error_text(failure), vim.log.levels.INFO)
  elseif failure and failure.code ~= protocol.errors.MethodNotFound and failure.code ~= -1 then
    util.notify(('the daemon could not save %s: %s'):format(state.path, util.error_text(failure)), vim.log.levels.WARN)
  end
  return failure == nil
end

--- Tell the daemon that Neovim writes `content` into `state`'s file itself now (`buffer/save` with
--- `writes`, its SHA-256), when the daemon is connected but did not answer the save (stopped,
--- suspended, very busy). The request goes after the buffer's edits, so every change in that text
--- reaches the daemon as an edit. Untold, a daemon that ran again found the file before the edits
--- waiting for it and took it in as an outside edit on top of that same typing: doubled on every
--- member (trial s60 F7, in Emacs; decision 271). Nothing is sent with no connection: that write
--- is the `base` a reconnect merges from.
function M.declare_write(state, content)
  local conn = state.conn
  if not can_save_by_daemon(state) then
    return
  end
  conn:request(methods.buffer_save, { path = state.path, writes = vim.fn.sha256(content) }, function() end)
end

local temp_count = 0

--- Put `lines` (joined by "\n", no final one added) in the shared file `file` whole: into a
--- temporary file in the project's `.chorus/tmp/` (never shared, on the project's file system)
--- with the file's permission bits, renamed over the file's real path (a symbolic link stays a
--- link). Written in place, as writefile() does (it empties the file, then writes it), the
--- daemon's watcher could read the file empty, take that in as every line deleted, then the full
--- text as every line added, and the merge of the two with what it had not written yet
--- duplicated a line (decision 199). False when it could not (the caller writes in place).
---@return boolean ok
function M.write_whole(state, file, lines)
  local uv = util.uv
  local root = state.conn and state.conn.root and uv.fs_realpath(state.conn.root)
  local real = uv.fs_realpath(file)
  if not root or not real or real:sub(1, #root + 1) ~= root .. '/' then
    return false -- a new file (nothing to replace), or one outside the project
  end
  local dir = root .. '/.chorus/tmp'
  vim.fn.mkdir(dir, 'p', 448) -- 0700, as the daemon makes it
  temp_count = temp_count + 1
  local tmp = ('%s/nvim-%d-%d.tmp'):format(dir, uv.os_getpid(), temp_count)
  if vim.fn.writefile(lines, tmp, 'b') ~= 0 then
    os.remove(tmp)
    return false
  end
  local st = uv.fs_stat(real)
  if st then
    uv.fs_chmod(tmp, st.mode % 4096)
  end
  if not uv.fs_rename(tmp, real) then
    os.remove(tmp)
    return false
  end
  return true
end

--- A buffer whose name Neovim counts as "new" or "not edited" (a file that did not exist when
--- opened, a renamed buffer) makes :w refuse with E13 "file exists" once the daemon has written
--- the file. One write through our BufWriteCmd (as 'acwrite', which skips that check) clears
--- the mark; it writes the shared text, which is what the file holds (or is about to) anyway.
function M.mark_written(state)
  local bufnr = state.bufnr
  if not api.nvim_buf_is_valid(bufnr) then
    return
  end
  local bo = vim.bo[bufnr]
  local buftype = bo.buftype
  bo.buftype = 'acwrite'
  state.marking = true
  pcall(api.nvim_buf_call, bufnr, function()
    vim.cmd('silent! write')
  end)
  state.marking = false
  bo.buftype = buftype
end

--- The Neovim buffer other than `bufnr` whose name is the file `abs`, or nil.
local function other_buffer_of(bufnr, abs)
  for _, b in ipairs(api.nvim_list_bufs()) do
    if b ~= bufnr and api.nvim_buf_get_name(b) == abs then
      return b
    end
  end
  return nil
end

--- buffer/didRename: a file open here was renamed or moved; the buffer follows it. When this
--- Neovim has a buffer of the new name already (the file was renamed on disk, with netrw or
--- `rename()`, and its new name opened with `:edit` before the daemon saw the move), that buffer
--- is the file's from now on: the daemon answered its open with the moved file's text, typing
--- of this one included (decision 205). This one stops being shared without closing anything
--- (the daemon's buffer of that path is the other one's now) and gives way to it
--- (hooks.gave_way): two buffers of one path cannot both follow it (decision 199).
function M.did_rename(conn, params)
  local state = M.find(conn, params.from)
  if not state then
    return
  end
  state.path = params.to
  local root = conn.root
  local other = root and other_buffer_of(state.bufnr, root .. '/' .. params.to)
  if other then
    M.flush(state)
    M.buffers[state.bufnr] = nil
    state.detached = true
    M.plain_again(state)
    state.status = 'closed'
    local function give_way()
      if M.hooks.gave_way then
        M.hooks.gave_way(state, other, params.from, params.to)
      end
    end
    if state.in_flight == 0 then
      give_way()
      return
    end
    -- Typing sent before the rename is not answered yet, so the buffer still counts as modified,
    -- and giving way now would keep it as a buffer with changes of its own (seen on a loaded
    -- machine). Once the daemon has taken every edit, the buffer has nothing of its own; an edit
    -- it refused leaves it modified, and kept.
    state.refused = false
    state.when_answered = function()
      if not state.refused and state.config.manage_modified and api.nvim_buf_is_valid(state.bufnr) then
        vim.bo[state.bufnr].modified = false
      end
      give_way()
    end
    -- A daemon gone before it answered never answers (Neovim's rpc drops what was waiting):
    -- then the buffer gives way as it is after a while, kept and said to be kept if modified.
    vim.defer_fn(function()
      if state.when_answered then
        state.when_answered = nil
        give_way()
      end
    end, 5000)
    return
  end
  if root and api.nvim_buf_is_valid(state.bufnr) then
    local abs = root .. '/' .. params.to
    pcall(api.nvim_buf_set_name, state.bufnr, abs)
    M.mark_written(state)
    util.notify(('%s was renamed to %s'):format(params.from, params.to))
  end
end

--- The daemon has no file for a buffer with no typing of its own (deleted while the buffer was
--- away from the daemon, see M.open): the buffer stops being shared, keeping its text, and says
--- so once. Shared again, it would make the file again on every peer; writing it does that, as
--- the person's own choice (hooks.gone).
function M.gone(state)
  local bufnr = state.bufnr
  M.plain_again(state)
  M.buffers[bufnr] = nil
  state.detached = true
  state.status = 'closed'
  -- Not "while Neovim was away": a file deleted while the buffer was open is answered so too
  -- after a restart of the daemon, which forgets deletions (a trial read that of a file whose
  -- deletion it had been told of a minute before).
  M.tell_once(bufnr, ('%s no longer exists in the project (it was deleted): this buffer is not shared now (:w makes the file again and shares it)'):format(state.path))
  if M.hooks.gone then
    M.hooks.gone(state)
  end
end

--- Stop sharing a buffer.
function M.close(bufnr)
  local state = M.buffers[bufnr]
  if not state then
    return
  end
  M.buffers[bufnr] = nil
  state.detached = true
  M.plain_again(state)
  if state.status == 'open' and state.conn:is_ready() then
    M.flush(state)
    state.conn:request(methods.buffer_close, { path = state.path })
  end
  state.status = 'closed'
end

--- The connection is back: re-open every buffer it carries with its current text.
function M.connection_ready(conn)
  for _, state in pairs(M.buffers) do
    if state.conn == conn then
      M.open(state)
    end
  end
end

function M.connection_lost(conn)
  for _, state in pairs(M.buffers) do
    if state.conn == conn then
      if state.status == 'open' then
        M.remember_base(state)
      end
      state.unconfirmed = {}
      state.epoch = state.epoch + 1
      M.plain_again(state)
      state.status = 'offline'
      state.pending = {}
      state.in_flight = 0
    end
  end
end

return M
