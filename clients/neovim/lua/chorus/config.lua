-- setup() options: defaults and validation with messages a person can act on (private).
local M = {}

M.defaults = {
  -- The chorus command; `connect <root>` is appended.
  cmd = { 'chorus' },
  -- Your name as the daemon logs this editor (others see the daemon's name for you).
  name = 'neovim',
  -- Share every file opened inside a project that has a `.chorus/` folder.
  autostart = true,
  -- Clear 'modified' once the daemon has every change (it writes the file itself).
  manage_modified = true,
  -- Reconnect backoff, in milliseconds.
  reconnect_min_ms = 250,
  reconnect_max_ms = 8000,
  -- Send the cursor and viewport at most this often, in milliseconds (the last one always goes).
  cursor_throttle_ms = 50,
  -- The address the daemon listens on for peers after :ChorusShare / :ChorusJoin (nil: the
  -- daemon's default, every interface; '127.0.0.1' keeps a session on this machine).
  host = nil,
  -- Show re-open reasons and other internals.
  debug = false,
}

local checks = {
  cmd = function(v)
    if type(v) == 'string' then
      return nil, 'cmd must be a list like {"chorus"}, not a string (got "' .. v .. '")'
    end
    if type(v) ~= 'table' or #v == 0 then
      return nil, 'cmd must be a non-empty list of strings, like {"chorus"} or {"node", "/path/to/cli.js"}'
    end
    for i, part in ipairs(v) do
      if type(part) ~= 'string' or part == '' then
        return nil, ('cmd[%d] must be a non-empty string'):format(i)
      end
    end
    return true
  end,
  name = function(v)
    return type(v) == 'string' and v ~= '', 'name must be a non-empty string'
  end,
  autostart = function(v)
    return type(v) == 'boolean', 'autostart must be true or false'
  end,
  manage_modified = function(v)
    return type(v) == 'boolean', 'manage_modified must be true or false'
  end,
  reconnect_min_ms = function(v)
    return type(v) == 'number' and v >= 10, 'reconnect_min_ms must be a number of milliseconds >= 10'
  end,
  reconnect_max_ms = function(v)
    return type(v) == 'number' and v >= 10, 'reconnect_max_ms must be a number of milliseconds >= 10'
  end,
  debug = function(v)
    return type(v) == 'boolean', 'debug must be true or false'
  end,
  cursor_throttle_ms = function(v)
    return type(v) == 'number' and v >= 0, 'cursor_throttle_ms must be a number of milliseconds >= 0'
  end,
  host = function(v)
    return v == nil or (type(v) == 'string' and v ~= ''), 'host must be an address like "127.0.0.1", or nil'
  end,
}

--- Merge `opts` over the defaults; raises a clear error for an unknown key or a bad value.
function M.validate(opts)
  if opts ~= nil and type(opts) ~= 'table' then
    error('chorus.setup: expected a table of options, got ' .. type(opts), 0)
  end
  opts = opts or {}
  for key, _ in pairs(opts) do
    if checks[key] == nil then
      local known = vim.tbl_keys(checks)
      table.sort(known)
      error(('chorus.setup: unknown option "%s" (known: %s)'):format(tostring(key), table.concat(known, ', ')), 0)
    end
  end
  local config = vim.tbl_extend('force', vim.deepcopy(M.defaults), opts)
  for key, check in pairs(checks) do
    local ok, msg = check(config[key])
    if not ok then
      error('chorus.setup: ' .. msg, 0)
    end
  end
  if config.reconnect_max_ms < config.reconnect_min_ms then
    error('chorus.setup: reconnect_max_ms must not be less than reconnect_min_ms', 0)
  end
  return config
end

return M
