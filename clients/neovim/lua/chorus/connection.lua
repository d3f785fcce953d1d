-- One connection to the daemon of one project (private). Spawns `chorus connect <root>` and
-- speaks JSON-RPC over its stdio through Neovim's own LSP framing (vim.lsp.rpc). When the process
-- goes away it says so once, then reconnects with backoff; `on_ready` runs after every successful
-- initialize so that buffers can be re-opened. A daemon stopped with `chorus stop` is not started
-- again by those retries (`chorus connect --reconnect`, decision 174): the connection waits,
-- 'stopped', for :ChorusReconnect.
if jit then jit.off(true, true) end -- see init.lua: LuaJIT's compiled traces crash Neovim 0.7.2
local protocol = require('chorus.protocol')
local util = require('chorus.util')

local M = {}

local Connection = {}
Connection.__index = Connection

-- An edit the daemon has not answered for this long is said, once, with what it means: a daemon
-- stopped (`kill -STOP`, a suspended terminal) keeps the connection open and answers nothing,
-- and Neovim said nothing while the person typed on (trial s55a F6). Only edits count: a join or
-- a share may rightly take minutes.
local SLOW_ANSWER_MS = 10000
local ANSWER_CHECK_MS = 2000

--- Start vim.lsp.rpc with the signature of this Neovim (0.10 changed it).
local function rpc_start(cmd, dispatchers, cwd)
  local rpc = vim.lsp.rpc
  if vim.fn.has('nvim-0.10') == 1 then
    return rpc.start(cmd, dispatchers, { cwd = cwd })
  end
  return rpc.start(cmd[1], vim.list_slice(cmd, 2), dispatchers, { cwd = cwd })
end

---@param root string absolute project root
---@param config table validated setup() options
---@param handlers table { notification = fun(conn, method, params), ready = fun(conn), lost = fun(conn) }
---@param create boolean|nil make `root` a project if it is not one (`chorus connect --create`)
function M.new(root, config, handlers, create)
  local self = setmetatable({
    root = root,
    create = create == true,
    config = config,
    handlers = handlers,
    state = 'idle', -- idle | connecting | ready | lost | stopped | closed | failed
    generation = 0,
    attempts = 0,
    said_lost = false,
    info = nil, -- the initialize result
    unsupported = {}, -- methods the daemon answered MethodNotFound to
    unanswered = {}, -- edits sent and not answered yet: request number -> when sent (ms, uv.now)
    requests = 0,
    said_slow = false,
  }, Connection)
  return self
end

function Connection:is_ready()
  return self.state == 'ready'
end

--- Connect. `retry`: an automatic reconnect, which must not start a daemon stopped with
--- `chorus stop` (`chorus connect --reconnect` exits with StoppedByCommand instead).
function Connection:start(retry)
  if self.state == 'connecting' or self.state == 'ready' or self.state == 'closed' or self.state == 'stopped' then
    return
  end
  self.state = 'connecting'
  self.generation = self.generation + 1
  local gen = self.generation
  local args = { 'connect' }
  if self.create then
    args[#args + 1] = '--create'
  end
  if retry then
    args[#args + 1] = '--reconnect'
  end
  args[#args + 1] = self.root
  local cmd = vim.list_extend(vim.deepcopy(self.config.cmd), args)
  if vim.fn.executable(cmd[1]) ~= 1 then
    -- Not retried: each try would only fail the same way (a trial saw Neovim's own "Spawning
    -- language server … failed" once a second, and "could not start …: nil"). Said once, with
    -- the fix; :ChorusReconnect tries again.
    self:_fail(
      ('cannot start the daemon for %s: `%s` is not a program on your PATH. Install the chorus command (the Chorus README, "Install"), or give setup() the full command, e.g. cmd = { "node", "/path/to/chorus/daemon/dist/cli.js" }; then run :ChorusReconnect'):format(
        self.root,
        cmd[1]
      )
    )
    return
  end
  local dispatchers = {
    notification = function(method, params)
      util.main(function()
        if gen == self.generation then
          self.handlers.notification(self, method, params)
        end
      end)
    end,
    on_exit = function(code, signal)
      vim.schedule(function()
        if gen ~= self.generation then
          return
        end
        if code == protocol.exit_codes.StoppedByCommand then
          self:_stopped()
        elseif self.info == nil then
          -- Never connected: no daemon was "lost". A wrong path in cmd, or a clone not built (a
          -- trial read "lost the daemon … (the connection process exited (code 1…))").
          self:_lost(
            ('`%s` exited (code %s) before the daemon answered: check cmd in setup(), or run that command in a terminal to see why'):format(
              table.concat(cmd, ' '),
              code
            ),
            true
          )
        else
          self:_lost(('the connection process exited (code %s, signal %s)'):format(code, signal))
        end
      end)
    end,
    on_error = function() end,
  }
  local ok, rpc = pcall(rpc_start, cmd, dispatchers, self.root)
  if not ok or rpc == nil then
    self:_lost(('could not start %s: %s'):format(table.concat(cmd, ' '), tostring(rpc)))
    return
  end
  self.rpc = rpc
  local params = {
    protocolVersion = protocol.protocol_version,
    clientInfo = { name = self.config.name or 'neovim', version = tostring(vim.version and vim.version().minor or '') },
    positionEncodings = { 'utf-8' },
  }
  self:_raw_request(protocol.methods.initialize, params, function(err, result)
    if gen ~= self.generation then
      return
    end
    if err then
      if err.code == protocol.errors.UnsupportedProtocolVersion then
        -- A stale plugin or daemon: fail loudly, do not retry.
        self:_kill()
        self:_fail(util.error_text(err))
        return
      end
      self:_kill()
      self:_lost('initialize failed: ' .. util.error_text(err))
      return
    end
    if result.positionEncoding ~= 'utf-8' then
      self:_kill()
      self:_fail('the daemon cannot use utf-8 positions; update chorus')
      return
    end
    self.info = result
    self.state = 'ready'
    self.attempts = 0
    if self.said_lost then
      self.said_lost = false
      util.notify('reconnected to the daemon for ' .. self.root)
    end
    self.handlers.ready(self)
  end)
end

--- Watch the edits in `unanswered` (every ANSWER_CHECK_MS while there are any).
function Connection:_watch_answers()
  if self.answer_timer then
    return
  end
  local timer = util.uv.new_timer()
  self.answer_timer = timer
  timer:start(ANSWER_CHECK_MS, ANSWER_CHECK_MS, function()
    vim.schedule(function()
      self:_check_answers()
    end)
  end)
end

--- Stop and close a uv timer, if there is one still open.
local function close_timer(timer)
  if timer and not timer:is_closing() then
    timer:stop()
    timer:close()
  end
end

function Connection:_stop_watching()
  local timer = self.answer_timer
  self.answer_timer = nil
  close_timer(timer)
end

--- Say once that the daemon has not answered an edit for SLOW_ANSWER_MS, and once that it answers again.
function Connection:_check_answers()
  local now = util.uv.now()
  local oldest, waiting = nil, 0
  for _, at in pairs(self.unanswered) do
    waiting = waiting + 1
    if oldest == nil or at < oldest then
      oldest = at
    end
  end
  if waiting == 0 then
    self:_stop_watching()
    if self.said_slow then
      self.said_slow = false
      util.notify('the daemon for ' .. self.root .. ' ' .. protocol.session_words.daemonAnswersAgain)
    end
    return
  end
  if not self.said_slow and now - oldest >= SLOW_ANSWER_MS then
    self.said_slow = true
    -- The words every client says (protocol/src/session-words.ts, notAnsweringWords).
    util.notify(
      ('the daemon for %s has not answered your typing for %d s (%d %s waiting): %s'):format(
        self.root,
        math.floor((now - oldest) / 1000),
        waiting,
        waiting == 1 and 'edit' or 'edits',
        protocol.session_words.daemonNotAnswering
      ),
      vim.log.levels.WARN
    )
  end
end

function Connection:_kill()
  -- Requests of a connection that went are never answered: not waited for any more.
  self.unanswered = {}
  self.said_slow = false
  self:_stop_watching()
  local rpc = self.rpc
  self.rpc = nil
  if not rpc then
    return
  end
  if rpc.terminate then
    pcall(rpc.terminate)
  elseif rpc.handle and not rpc.handle:is_closing() then
    pcall(rpc.handle.kill, rpc.handle, 15)
  end
end

--- Leave the current connection for `state` ('lost' or 'stopped'). Returns nil when there is
--- nothing to leave (closed, failed or stopped already), else whether it was ready.
function Connection:_leave(state)
  if self.state == 'closed' or self.state == 'failed' or self.state == 'stopped' then
    return nil
  end
  local was_ready = self.state == 'ready'
  self.generation = self.generation + 1
  self.state = state
  self:_kill()
  return was_ready
end

--- Give up on this connection until :ChorusReconnect: `why` is said once, and kept for :checkhealth.
function Connection:_fail(why)
  self.state = 'failed'
  self.failed_why = why
  util.notify(why, vim.log.levels.ERROR)
end

--- The connection went (or, `never`, could not be made): say so once, and retry with backoff.
function Connection:_lost(why, never)
  local was_ready = self:_leave('lost')
  if was_ready == nil then
    return
  end
  if not self.said_lost then
    self.said_lost = true
    local text = never and 'could not connect to the daemon for %s (%s); your buffers stay editable, retrying…'
      or 'lost the daemon for %s (%s); your buffers stay editable, reconnecting…'
    util.notify(text:format(self.root, why), vim.log.levels.WARN)
  end
  if was_ready then
    self.handlers.lost(self)
  end
  local delay = math.min(self.config.reconnect_max_ms, self.config.reconnect_min_ms * 2 ^ self.attempts)
  self.attempts = self.attempts + 1
  self:_cancel_retry()
  local timer = util.uv.new_timer()
  self.retry = timer
  timer:start(delay, 0, function()
    vim.schedule(function()
      if self.retry == timer then
        self:_cancel_retry()
      end
      if self.state == 'lost' then
        self:start(true)
      end
    end)
  end)
end

--- The daemon was stopped with `chorus stop`: no more retries until :ChorusReconnect; say so once.
function Connection:_stopped()
  local was_ready = self:_leave('stopped')
  if was_ready == nil then
    return
  end
  self:_cancel_retry()
  -- :ChorusReconnect then says "reconnected", as after any outage.
  self.said_lost = true
  local text = 'the daemon for %s was stopped with `chorus stop`; your buffers stay editable '
    .. 'but are not shared until you run :ChorusReconnect, which starts it again'
  util.notify(text:format(self.root), vim.log.levels.WARN)
  if was_ready then
    self.handlers.lost(self)
  end
end

function Connection:_cancel_retry()
  local timer = self.retry
  self.retry = nil
  close_timer(timer)
end

--- Try again now instead of at the next backoff step (:ChorusReconnect); starts a daemon stopped
--- with `chorus stop` too (the person asks for it).
function Connection:reconnect_now()
  if self.state == 'ready' or self.state == 'connecting' then
    return
  end
  self:_cancel_retry()
  self.attempts = 0
  self.state = 'lost'
  self:start()
end

function Connection:_raw_request(method, params, cb)
  local rpc = self.rpc
  if not rpc then
    cb({ code = -1, message = 'not connected to the daemon' }, nil)
    return false
  end
  local key
  if method == protocol.methods.buffer_edit then
    self.requests = self.requests + 1
    key = self.requests
    self.unanswered[key] = util.uv.now()
    self:_watch_answers()
  end
  local unanswered = self.unanswered
  local ok = rpc.request(method, params, function(err, result)
    if key then
      unanswered[key] = nil
    end
    util.main(function()
      cb(err, result)
    end)
  end)
  if not ok then
    if key then
      unanswered[key] = nil
    end
    cb({ code = -1, message = 'not connected to the daemon' }, nil)
  end
  return ok
end

--- Send a request; `cb(err, result)` runs on the main loop. A MethodNotFound answer is recorded
--- so that features the daemon lacks can be reported once and skipped.
function Connection:request(method, params, cb)
  cb = cb or function() end
  if self.state ~= 'ready' then
    cb({ code = -1, message = 'not connected to the daemon for ' .. self.root }, nil)
    return false
  end
  return self:_raw_request(method, params, function(err, result)
    if err and err.code == protocol.errors.MethodNotFound then
      self.unsupported[method] = true
    end
    cb(err, result)
  end)
end

function Connection:notify(method, params)
  if self.state ~= 'ready' or not self.rpc or self.unsupported[method] then
    return false
  end
  return self.rpc.notify(method, params)
end

--- Stop for good (Neovim is exiting, or the person asked).
function Connection:close()
  self:_cancel_retry()
  self.state = 'closed'
  self.generation = self.generation + 1
  self:_kill()
end

M.Connection = Connection
return M
