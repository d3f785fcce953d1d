-- Chorus for Neovim: edit one project together, live. Public module.
--
--   require('chorus').setup({ cmd = { 'chorus' } })
--
-- Every file opened inside a project that has a `.chorus/` folder is shared through that
-- project's daemon (`chorus connect <root>`). See :help chorus.
--
-- The plugin's Lua runs in LuaJIT's interpreter, not as compiled traces: every module (but the
-- generated protocol.lua, a table with no functions) turns the JIT off for its own functions
-- (jit.off(true, true): this chunk and all functions in it). With
-- them compiled, Neovim 0.7.2 crashed now and then while peers' changes arrived (SIGSEGV, the
-- fault address the stack pointer cut to 32 bits; a core dump has it in code outside every
-- binary, with LuaJIT's tagged values on the stack): 3 of ~25 runs of test/neovim/end-of-buffer,
-- and in two user trials. Without, 0 of 25. A keystroke's work in the plugin is small; the
-- interpreter is fast enough for it (decision 267).
if jit then jit.off(true, true) end
local config_mod = require('chorus.config')
local connection = require('chorus.connection')
local cursors = require('chorus.cursors')
local protocol = require('chorus.protocol')
local sync = require('chorus.sync')
local util = require('chorus.util')

local api = vim.api
local methods = protocol.methods

local M = {}

---@type table|nil the validated options, once setup() ran
M.config = nil

---@type table<string, table> project root -> Connection
M.connections = {}

M.following = nil

local notification_handlers = {
  [methods.buffer_didChange] = function(conn, params)
    sync.did_change(conn, params)
  end,
  [methods.buffer_didRename] = function(conn, params)
    sync.did_rename(conn, params)
  end,
  [methods.cursor_didChange] = function(conn, params)
    cursors.did_change(conn, params)
  end,
  [methods.peer_didJoin] = function(_, params)
    -- New, or a member back (after a relay's outage, or a restart of this daemon): not the same news.
    local words = require('chorus.protocol').session_words
    util.notify(params.peer.name .. ' ' .. (params.reason == 'back' and words.peerBack or words.peerJoined))
  end,
  [methods.peer_didLeave] = function(conn, params)
    cursors.peer_left(conn, params.peer)
    -- Said goodbye, or out of reach (a relay or a connection dropped): not the same news.
    local words = require('chorus.protocol').session_words
    util.notify(params.peer.name .. ' ' .. (params.reason == 'unreachable' and words.peerUnreachable or words.peerLeft))
  end,
  [methods.follow_reveal] = function(conn, params)
    M._reveal(conn, params)
  end,
  [methods.session_notice] = function(conn, params)
    -- What the daemon did to the person's files (a copy of their version kept): shown at its level.
    local level = ({ error = vim.log.levels.ERROR, warning = vim.log.levels.WARN })[params.type] or vim.log.levels.INFO
    util.notify(tostring(params.message), level)
    if type(params.path) == 'string' and type(params.kept) == 'string' then
      sync.take_session_text(conn, params.path)
    end
  end,
  [methods.follow_didStop] = function(_, params)
    local who = M.following and M.following.name or 'them'
    M.following = nil
    M._last_reveal = nil
    local why = ({ typed = 'you typed', requested = 'you asked', peerLeft = who .. ' left' })[params.reason]
    util.notify(('stopped following %s (%s)'):format(who, why or tostring(params.reason)))
  end,
}

local function on_notification(conn, method, params)
  local handler = notification_handlers[method]
  if handler then
    local ok, err = pcall(handler, conn, params)
    if not ok then
      util.notify(('error handling %s: %s'):format(method, tostring(err)), vim.log.levels.ERROR)
    end
  end
end

local function require_setup()
  if not M.config then
    error('chorus: call require("chorus").setup() first', 0)
  end
end

--- The connection for a project root, started if needed. `create`: the root may not be a project
--- yet and `chorus connect --create` makes it one (a command run in a folder that is not a project).
function M.connection(root, create)
  require_setup()
  local conn = M.connections[root]
  if not conn then
    conn = connection.new(root, M.config, {
      notification = on_notification,
      ready = function(c)
        cursors.forget_local()
        sync.connection_ready(c)
      end,
      lost = function(c)
        sync.connection_lost(c)
        cursors.clear_connection(c)
      end,
    }, create)
    M.connections[root] = conn
    conn:start()
  end
  return conn
end

--- Is `bufnr` a buffer of a file (not a special buffer, not a URL)?
local function file_buffer(bufnr)
  if not api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= '' then
    return false
  end
  local name = api.nvim_buf_get_name(bufnr)
  return name ~= '' and not name:match('^%a[%w+.-]*://')
end

local function shareable(bufnr)
  if not file_buffer(bufnr) then
    return nil
  end
  local name = api.nvim_buf_get_name(bufnr)
  local root = util.find_root(name)
  if not root then
    return nil
  end
  local rel = name:sub(#root + 2)
  if rel:match('^%.chorus/') or rel:match('^%.git/') then
    return nil
  end
  return root
end

--- Share a buffer (default: the current one) if its file is inside a Chorus project.
---@return boolean|nil shared false: not a file of a project; nil: a second buffer of a shared
--- file (through a symbolic link) with changes of its own, left unshared and told why
function M.attach(bufnr)
  require_setup()
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  if sync.buffers[bufnr] then
    return true
  end
  -- A buffer with no text loaded is no view of its file: `:saveas` gives the old name to a new,
  -- unloaded buffer (the alternate file) with a BufFilePost of its own. Shared, its empty text
  -- re-opened the file after each peer's keystroke it could not apply, emptying the file on every
  -- peer (decision 205).
  if not api.nvim_buf_is_loaded(bufnr) then
    return false
  end
  -- Before the project check: a link from outside the project to a shared file is that file too.
  local same = file_buffer(bufnr) and sync.same_file(bufnr)
  if same then
    return M._one_buffer(bufnr, same)
  end
  local root = shareable(bufnr)
  if not root then
    return false
  end
  local state = sync.attach(bufnr, M.connection(root), M.config)
  if not state then
    return false
  end
  api.nvim_create_autocmd('BufWriteCmd', {
    group = api.nvim_create_augroup('chorus_buffer_' .. bufnr, { clear = true }),
    buffer = bufnr,
    -- A write while this one waits for the daemon (sync.save_by_daemon) runs this again, rather
    -- than finding no write command for the buffer (E676).
    nested = true,
    callback = function(args)
      local st = sync.buffers[bufnr]
      if st then
        sync.write(st, args.match)
        pcall(api.nvim_exec_autocmds, 'BufWritePost', { buffer = bufnr, modeline = false })
      end
    end,
  })
  return true
end

--- `bufnr` shows the file that shared buffer `state` shows, through a symbolic link (decision
--- 199). Two buffers of one file cannot both follow it: the daemon has one buffer per project
--- path and editor, so the second buffer went stale, and its :w! wrote its old text over the
--- peers' typing. As Neovim itself does for a file it sees is the same, the file gets one buffer:
--- the windows that show `bufnr` show the shared buffer, live, and `bufnr` goes. A `bufnr` with
--- changes of its own is kept (they would be lost), unshared, told so, and cannot be written over
--- the file.
--- `how` says how the two names are one file (default: "through a symbolic link").
---@return boolean|nil shared true: `bufnr`'s windows show the shared buffer now; nil: `bufnr`
--- had changes of its own and stays, unshared (the person was told why)
function M._one_buffer(bufnr, state, how)
  how = how or 'through a symbolic link'
  local name = api.nvim_buf_get_name(bufnr)
  local other = api.nvim_buf_get_name(state.bufnr)
  if vim.bo[bufnr].modified then
    sync.tell_once(
      bufnr,
      ('%s and %s are one file (%s), shared in buffer %d. This buffer has changes of its own, so it is not shared and does not follow the others\' typing: copy what you need into buffer %d. Writing this buffer over the file is refused (it would delete what others typed since).')
        :format(name, other, how, state.bufnr, state.bufnr)
    )
    api.nvim_create_autocmd('BufWriteCmd', {
      group = api.nvim_create_augroup('chorus_buffer_' .. bufnr, { clear = true }),
      buffer = bufnr,
      callback = function(args)
        local target = vim.fn.fnamemodify(args.match, ':p')
        local real = util.uv.fs_realpath(target)
        if real and real == util.uv.fs_realpath(other) then
          util.notify(('not written: %s is the shared file %s; write your changes into buffer %d, which follows the others\' typing'):format(target, other, state.bufnr), vim.log.levels.ERROR)
          return
        end
        vim.cmd('noautocmd keepalt write! ' .. vim.fn.fnameescape(target)) -- another file: written as asked
      end,
    })
    return nil
  end
  -- Not from inside the autocommand that read the buffer (a :split or :edit is still running).
  vim.schedule(function()
    if not api.nvim_buf_is_valid(bufnr) or not api.nvim_buf_is_valid(state.bufnr) or vim.bo[bufnr].modified then
      return
    end
    for _, win in ipairs(api.nvim_list_wins()) do
      if api.nvim_win_get_buf(win) == bufnr then
        api.nvim_win_set_buf(win, state.bufnr)
      end
    end
    pcall(api.nvim_buf_delete, bufnr, {})
    util.notify(('%s and %s are one file (%s): it is shown in its shared buffer, live'):format(name, other, how))
  end)
  return true
end

--- The file a shared buffer is shared as, as an absolute name (its project path once open).
--- Share buffer `bufnr` again once Neovim has written it (after the write has finished, not from
--- inside its autocommands): a buffer unshared by a rename or a deletion is a new file then.
local function share_once_written(bufnr)
  api.nvim_create_autocmd('BufWritePost', {
    group = api.nvim_create_augroup('chorus_buffer_' .. bufnr, { clear = true }),
    buffer = bufnr,
    once = true,
    callback = function()
      vim.schedule(function()
        if api.nvim_buf_is_valid(bufnr) and not sync.buffers[bufnr] then
          M.attach(bufnr)
        end
      end)
    end,
  })
end

local function shared_name(state)
  if state.conn.root and not state.path:match('^/') then
    return state.conn.root .. '/' .. state.path
  end
  return state.path
end

--- BufFilePost of a shared buffer: its name changed in this Neovim (`:saveas`, `:file`, a plugin's
--- rename). Returns true when handled (the buffer was shared). The daemon's own renames
--- (buffer/didRename) name the file it shares already: nothing to do. A file moved on disk before
--- the buffer got its new name (a file manager) is the daemon's to tell too: it sees the move as a
--- rename and says so, and typing meanwhile lands in the moved file. Otherwise the buffer edits
--- another file now, as in Neovim: the old file keeps what was typed in it (queued typing goes
--- out to it first), and the buffer is shared as the new file once written, as Neovim makes that
--- file only then. Left shared as the old file, its typing went on into the old file on every
--- peer, the new file kept only what `:saveas` wrote, and a peer's typing in the old file showed
--- in this buffer (decision 205).
function M._renamed_here(bufnr)
  local state = sync.buffers[bufnr]
  if not state then
    return false
  end
  local name = api.nvim_buf_get_name(bufnr)
  local was = shared_name(state)
  local uv = util.uv
  local real_now, real_was = uv.fs_realpath(name), uv.fs_realpath(was)
  if name == was or (real_now ~= nil and real_now == real_was) then
    return true
  end
  if real_was == nil and real_now ~= nil then
    return true -- moved on disk first: the daemon tells the buffer (buffer/didRename)
  end
  M.detach(bufnr) -- queued typing goes to the old file first (sync.close)
  share_once_written(bufnr)
  return true
end

--- Stop sharing a buffer (default: the current one).
function M.detach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  local state = sync.buffers[bufnr]
  if state then
    cursors.leave(state)
  end
  sync.close(bufnr)
  cursors.forget_local(bufnr)
  pcall(api.nvim_del_augroup_by_name, 'chorus_buffer_' .. bufnr)
end

--- The text Chorus holds for a shared buffer (what the daemon has once in step), or nil.
function M.buffer_text(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  local state = sync.buffers[bufnr]
  return state and sync.model_text(state) or nil
end

--- A table describing a shared buffer's sync state, or nil (for statuslines and tests).
function M.buffer_status(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  local state = sync.buffers[bufnr]
  if not state then
    return nil
  end
  return {
    path = state.path,
    status = state.status,
    connection = state.conn.state,
    editor_revision = state.editor_rev,
    daemon_revision = state.daemon_rev,
    dropped = state.dropped,
    pending = #state.pending + state.in_flight,
    -- with status "local": why the file is not shared (it is ignored)
    not_shared = state.not_shared,
    -- its own change was refused (read-only): it keeps that text and does not show the others'
    not_following = state.not_following or false,
  }
end

--- The connection for the current buffer's project, or the current folder's.
local function current_connection()
  local state = sync.buffers[api.nvim_get_current_buf()]
  if state then
    return state.conn
  end
  local root = util.find_root(api.nvim_buf_get_name(0)) or util.find_root(vim.fn.getcwd())
  if root then
    return M.connection(root)
  end
  -- No project here: the current folder becomes one (`--create`: `chorus connect` alone makes a
  -- plain folder a project too, but refuses one inside a project).
  return M.connection(vim.fn.getcwd(), true)
end

--- Run a request once the connection is up (it may still be starting).
local function when_ready(conn, fn, tries)
  tries = tries or 0
  if conn:is_ready() then
    fn()
  elseif conn.state == 'stopped' then
    util.notify('the daemon for ' .. conn.root .. ' was stopped with `chorus stop`; :ChorusReconnect starts it again', vim.log.levels.ERROR)
  elseif conn.state == 'failed' or tries > 100 then
    util.notify('not connected to the daemon for ' .. conn.root, vim.log.levels.ERROR)
  else
    vim.defer_fn(function()
      when_ready(conn, fn, tries + 1)
    end, 100)
  end
end

local function report(method, err)
  if err.code == protocol.errors.MethodNotFound then
    util.notify(('this daemon does not support %s yet; update chorus'):format(method), vim.log.levels.WARN)
  else
    util.notify(util.error_text(err), vim.log.levels.ERROR)
  end
end

--- Send a request on the current project's connection; `on_result(result)` on success.
local function call(method, params, on_result)
  require_setup()
  local conn = current_connection()
  when_ready(conn, function()
    conn:request(method, params, function(err, result)
      if err then
        report(method, err)
      elseif on_result then
        on_result(result, conn)
      end
    end)
  end)
end

--- The `host` option, when set, for session/share and session/join.
local function with_host(params)
  if M.config and M.config.host and params.host == nil then
    params.host = M.config.host
  end
  return next(params) and params or vim.empty_dict()
end

function M.share(opts)
  call(methods.session_share, with_host(vim.deepcopy(opts or {})), function(result)
    pcall(vim.fn.setreg, '"', result.code)
    -- The clipboard only where Neovim has a provider for it: without one, setting `+` prints
    -- "clipboard: No provider" and copies nothing, and "(copied)" was then untrue (a trial).
    local copied = vim.fn.has('clipboard') == 1 and pcall(vim.fn.setreg, '+', result.code)
    local where = copied and 'copied to the clipboard' or 'in the unnamed register: p pastes it'
    local who = result.readOnly and 'guests can read, not edit' or 'guests can edit'
    util.notify('sharing (' .. who .. '); join code (' .. where .. '): ' .. result.code)
  end)
end

--- Share every loaded buffer whose file is inside a Chorus project.
local function attach_loaded()
  for _, bufnr in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(bufnr) then
      M.attach(bufnr)
    end
  end
end

--- The message for a join's result.
local function joined_text(result)
  local msg = ('joined: %d files, %d bytes'):format(result.files or 0, result.bytes or 0)
  if (result.waiting or 0) > 0 then
    msg = msg .. ('; %d not written yet: no connected peer has their content (each appears when one that has it connects)'):format(result.waiting)
  end
  for _, n in ipairs(type(result.notices) == 'table' and result.notices or {}) do
    msg = msg .. '\n' .. n
  end
  return msg
end

--- Join into `root`, a folder that is not a Chorus project yet, the way `chorus join` does: the
--- command line checks the code before anything starts, and a join that fails leaves no
--- `.chorus/` folder or daemon behind. Then the folder's loaded buffers are shared. The code goes
--- on the command's standard input (`chorus join -`): on its command line, any local user could
--- read the session's secret with `ps` while the join runs.
local function join_with_cli(code, root)
  local cmd = vim.deepcopy(M.config.cmd)
  vim.list_extend(cmd, { 'join', '-', root, '--json' })
  if M.config.host then
    vim.list_extend(cmd, { '--host', M.config.host })
  end
  local out, err = {}, {}
  local ok, job = pcall(vim.fn.jobstart, cmd, {
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = function(_, data)
      out = data or {}
    end,
    on_stderr = function(_, data)
      err = data or {}
    end,
    on_exit = function(_, rc)
      vim.schedule(function()
        if rc ~= 0 then
          -- Every line: the reason comes first, then what the failed join undid. The CLI says
          -- "chorus: …"; util.notify puts "Chorus: " before the whole message already.
          local lines = {}
          for _, l in ipairs(err) do
            l = vim.trim(l):gsub('^chorus: ', '')
            if l ~= '' then
              lines[#lines + 1] = l
            end
          end
          util.notify(#lines > 0 and table.concat(lines, '\n') or ('chorus join failed (exit code %d)'):format(rc), vim.log.levels.ERROR)
          return
        end
        local decoded, result = pcall(vim.fn.json_decode, table.concat(out, '\n'))
        util.notify(joined_text(decoded and type(result) == 'table' and result or {}))
        if M.config.autostart then
          attach_loaded()
        end
      end)
    end,
  })
  if not ok or job <= 0 then
    util.notify(('could not run %s: check the cmd option'):format(table.concat(M.config.cmd, ' ')), vim.log.levels.ERROR)
    return
  end
  vim.fn.chansend(job, code .. '\n')
  vim.fn.chanclose(job, 'stdin')
end

function M.join(code)
  if type(code) ~= 'string' or code == '' then
    util.notify('usage: :ChorusJoin {code}', vim.log.levels.ERROR)
    return
  end
  require_setup()
  if not sync.buffers[api.nvim_get_current_buf()] then
    -- As current_connection picks the project; none: the join makes the current folder one.
    if not (util.find_root(api.nvim_buf_get_name(0)) or util.find_root(vim.fn.getcwd())) then
      join_with_cli(code, vim.fn.getcwd())
      return
    end
  end
  call(methods.session_join, with_host({ code = code }), function(result)
    util.notify(joined_text(result))
  end)
end

local function describe_status(st, conn)
  local lines = {
    'project  ' .. st.root,
    ('daemon   chorus %s, pid %s'):format(st.version, st.pid),
    ('you      %s (%s)'):format(st.peer.name, st.peer.color),
    'session  ' .. (st.session and util.session_text(st.session) or 'not shared (:ChorusShare)'),
  }
  -- Only while a join or a peer's change is still filling the folder (absent from an older daemon).
  if type(st.writing) == 'number' and st.writing > 0 then
    lines[#lines + 1] = ('writing  %d file%s to disk'):format(st.writing, st.writing == 1 and '' or 's')
  end
  local shared = {}
  for _, state in pairs(sync.buffers) do
    if state.conn == conn then
      local status = state.not_following and 'not following the session: your text stays here; :ChorusReconnect' or state.status
      shared[#shared + 1] = ('%s [%s, rev %d/%d]'):format(state.path, status, state.editor_rev, state.daemon_rev)
    end
  end
  table.sort(shared)
  lines[#lines + 1] = 'buffers  ' .. (#shared > 0 and table.concat(shared, ', ') or 'none shared from this Neovim')
  lines[#lines + 1] = 'peers    ' .. (#(st.peers or {}) > 0 and tostring(#st.peers) or 'none')
  for _, p in ipairs(st.peers or {}) do
    -- As `chorus status` lists them: the id's start tells apart peers of one name (a trial's five
    -- "Seed …" from one git user.name); a part not known is left out, not left as a gap.
    local parts = { p.name, ('(%s)'):format(p.color), type(p.id) == 'string' and p.id:sub(1, 8) or nil }
    if p.path then
      parts[#parts + 1] = 'via ' .. p.path
    end
    if p.state then
      parts[#parts + 1] = p.state
    end
    lines[#lines + 1] = '  ' .. table.concat(parts, ' ')
  end
  return table.concat(lines, '\n')
end

function M.status()
  call(methods.session_status, vim.empty_dict(), function(st, conn)
    util.notify('\n' .. describe_status(st, conn))
  end)
end

function M.peers()
  call(methods.session_status, vim.empty_dict(), function(st)
    local lines = {}
    for _, p in ipairs(st.peers or {}) do
      lines[#lines + 1] = ('%s (%s)%s'):format(p.name, p.color, p.path and (' via ' .. p.path) or '')
    end
    util.notify(#lines > 0 and ('peers:\n' .. table.concat(lines, '\n')) or 'nobody else is here')
  end)
end

function M.follow(name)
  if type(name) ~= 'string' or name == '' then
    util.notify('usage: :ChorusFollow {name}', vim.log.levels.ERROR)
    return
  end
  call(methods.follow_start, { peer = name }, function(result)
    M.following = result.peer
    M._last_reveal = nil
    util.notify('following ' .. result.peer.name .. ' (:ChorusUnfollow or type to stop)')
  end)
end

--- Reconnect now to the current project's daemon (instead of waiting for the next try).
function M.reconnect()
  require_setup()
  local conn = current_connection()
  sync.follow_again(conn)
  conn:reconnect_now()
end

function M.unfollow()
  call(methods.follow_stop, vim.empty_dict(), function()
    M.following = nil
    M._last_reveal = nil
    util.notify('stopped following')
  end)
end

local function undo_redo(method, word)
  local state = sync.buffers[api.nvim_get_current_buf()]
  if not state or state.status ~= 'open' then
    util.notify('this buffer is not shared', vim.log.levels.WARN)
    return
  end
  sync.flush(state)
  state.conn:request(method, { path = state.path }, function(err, result)
    if err then
      report(method, err)
    elseif not result.applied then
      util.notify('nothing of yours to ' .. word)
    end
  end)
end

function M.undo()
  undo_redo(methods.buffer_undo, 'undo')
end

function M.redo()
  undo_redo(methods.buffer_redo, 'redo')
end

--- follow/reveal: show `path` at `range` in the current window. A point is their cursor: ours
--- goes there. A span is what their window shows: it becomes the top of ours, and our cursor
--- moves only if it would be outside. The daemon repeats the last reveal with every heartbeat;
--- a repeat changes nothing, so you can look around until they move.
function M._reveal(conn, params)
  local key = params.path .. vim.inspect(params.range)
  if M._last_reveal == key then
    return
  end
  M._last_reveal = key
  local root = conn.info and conn.info.root or conn.root
  local file = root .. '/' .. params.path
  if api.nvim_buf_get_name(0) ~= file then
    local ok, err = pcall(vim.cmd, 'hide edit ' .. vim.fn.fnameescape(file))
    if not ok then
      util.notify('cannot follow into ' .. params.path .. ': ' .. tostring(err), vim.log.levels.WARN)
      return
    end
  end
  local bufnr = api.nvim_get_current_buf()
  local count = api.nvim_buf_line_count(bufnr)
  local function clamp(pos)
    local line = math.max(0, math.min(pos.line, count - 1))
    local text = api.nvim_buf_get_lines(bufnr, line, line + 1, false)[1] or ''
    return line, math.min(pos.character, #text)
  end
  local s = params.range and params.range.start or { line = 0, character = 0 }
  local e = params.range and params.range['end'] or s
  if s.line == e.line and s.character == e.character then
    local line, col = clamp(s)
    pcall(api.nvim_win_set_cursor, 0, { line + 1, col })
    return
  end
  local top = clamp(s)
  local bottom = clamp(e)
  local cur = api.nvim_win_get_cursor(0)
  if cur[1] - 1 < top or cur[1] - 1 > bottom then
    pcall(api.nvim_win_set_cursor, 0, { top + 1, 0 })
  end
  pcall(vim.fn.winrestview, { topline = top + 1 })
end

function M.setup(opts)
  M.config = config_mod.validate(opts)
  local group = api.nvim_create_augroup('chorus', { clear = true })
  if M.config.autostart then
    api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
      group = group,
      callback = function(args)
        M.attach(args.buf)
      end,
    })
    attach_loaded()
  end
  api.nvim_create_autocmd('BufFilePost', {
    group = group,
    callback = function(args)
      if not M._renamed_here(args.buf) and M.config.autostart then
        M.attach(args.buf)
      end
    end,
  })
  api.nvim_create_autocmd({ 'BufUnload', 'BufWipeout' }, {
    group = group,
    callback = function(args)
      M.detach(args.buf)
    end,
  })
  api.nvim_create_autocmd('SwapExists', {
    group = group,
    callback = function()
      -- The swap file is this Neovim's own, of a shared buffer of the same file (opened again
      -- through a symbolic link): edit it; the new buffer then gives way to that one (M._one_buffer,
      -- from BufReadPost: only with autostart). Anyone else's swap file gets Neovim's question.
      if not M.config.autostart then
        return
      end
      local found = util.uv.fs_realpath(vim.v.swapname)
      for b in pairs(sync.buffers) do
        local own = api.nvim_buf_is_valid(b) and vim.fn.swapname(b) or ''
        if own ~= '' and found ~= nil and util.uv.fs_realpath(own) == found then
          vim.v.swapchoice = 'e'
          return
        end
      end
    end,
  })
  api.nvim_create_autocmd('FileChangedShell', {
    group = group,
    callback = function(args)
      -- The daemon writes shared files itself; its writes are not a conflict. Other buffers get
      -- Neovim's usual question.
      vim.v.fcs_choice = sync.buffers[args.buf] and '' or 'ask'
    end,
  })
  local throttle = M.config.cursor_throttle_ms
  local moved = { 'CursorMoved', 'CursorMovedI', 'BufEnter' }
  if vim.fn.exists('##ModeChanged') == 1 then
    moved[#moved + 1] = 'ModeChanged'
  end
  api.nvim_create_autocmd(moved, {
    group = group,
    callback = function()
      cursors.cursor_moved(throttle)
    end,
  })
  local scrolled = { 'BufEnter' }
  if vim.fn.exists('##WinScrolled') == 1 then
    scrolled[#scrolled + 1] = 'WinScrolled'
  end
  api.nvim_create_autocmd(scrolled, {
    group = group,
    callback = function()
      cursors.scrolled(throttle)
    end,
  })
  api.nvim_create_autocmd('VimLeavePre', {
    group = group,
    callback = function()
      for _, conn in pairs(M.connections) do
        conn:close()
      end
    end,
  })
  -- An ignored file stays on this machine: Neovim writes it as usual.
  sync.hooks.on_local = function(state)
    pcall(api.nvim_del_augroup_by_name, 'chorus_buffer_' .. state.bufnr)
    vim.bo[state.bufnr].autoread = true
  end
  -- A buffer whose file was renamed on disk while this Neovim had opened the new name too
  -- (sync.did_rename): the file is that other buffer's now.
  sync.hooks.gave_way = function(state, other, from, to)
    pcall(api.nvim_del_augroup_by_name, 'chorus_buffer_' .. state.bufnr)
    cursors.forget_local(state.bufnr)
    M._one_buffer(state.bufnr, { bufnr = other }, ('%s was renamed to %s'):format(from, to))
  end
  -- A buffer whose file was deleted while it was away from the daemon (sync.gone): not shared
  -- any more; Neovim writes it as usual, and once written it is shared again (the file is new).
  sync.hooks.gone = function(state)
    local bufnr = state.bufnr
    cursors.forget_local(bufnr)
    if not api.nvim_buf_is_valid(bufnr) then
      return
    end
    vim.bo[bufnr].autoread = vim.go.autoread
    share_once_written(bufnr)
  end
  sync.hooks.on_open = function(state)
    cursors.redraw(state)
    if api.nvim_get_current_buf() == state.bufnr then
      cursors.send_local()
      cursors.send_viewport()
    end
  end
  return M
end

return M
