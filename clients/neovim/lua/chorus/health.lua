-- :checkhealth chorus. Neovim 0.7 has require('health').report_*, newer ones vim.health.*.
local M = {}

local function reporter()
  local h = vim.health
  if h and h.start then
    return { start = h.start, ok = h.ok, warn = h.warn, error = h.error, info = h.info }
  end
  local old = require('health')
  return {
    start = old.report_start,
    ok = old.report_ok,
    warn = old.report_warn,
    error = old.report_error,
    info = old.report_info,
  }
end

function M.check()
  local r = reporter()
  r.start('chorus')
  if vim.fn.has('nvim-0.7') == 1 then
    r.ok('Neovim ' .. tostring(vim.version().major) .. '.' .. tostring(vim.version().minor))
  else
    r.error('Neovim 0.7 or newer is required')
  end
  local chorus = package.loaded['chorus']
  local config = chorus and chorus.config
  if not config then
    r.warn('setup() has not run', { 'add require("chorus").setup() to your config' })
    return
  end
  r.ok('setup() ran; cmd = ' .. table.concat(config.cmd, ' '))
  if vim.fn.executable(config.cmd[1]) == 1 then
    r.ok(config.cmd[1] .. ' is executable')
  else
    r.error(config.cmd[1] .. ' is not executable', {
      'install the chorus command (Chorus README, "Install": npm install -g ./daemon from a clone, or npm install -g chorus-<version>.tgz) or set cmd = { "node", "/path/to/chorus/daemon/dist/cli.js" }',
    })
  end
  local ok_proto, protocol = pcall(require, 'chorus.protocol')
  if ok_proto then
    r.ok('protocol version ' .. tostring(protocol.protocol_version))
  else
    r.error('lua/chorus/protocol.lua is missing: ' .. tostring(protocol))
  end
  local util = require('chorus.util')
  -- :checkhealth runs in a new tab whose buffer is its report: the file the person was in is the
  -- alternate one ('#'), as in Neovim 0.7 and later; the current buffer, when run some other way.
  local here = vim.fn.expand('#:p')
  if here == '' then
    here = vim.api.nvim_buf_get_name(0)
  end
  local root = util.find_root(here) or util.find_root(vim.fn.getcwd())
  local connected = next(chorus.connections) ~= nil
  if root then
    r.ok('project: ' .. root)
  elseif connected then
    -- Said plainly: "no .chorus/ folder" above a line saying a project is ready read as a contradiction.
    r.info('the current file and folder are outside the projects connected below')
  else
    r.info('no .chorus/ folder above the current file or folder (run `chorus share` or `chorus daemon` in the project)')
  end
  for root_dir, conn in pairs(chorus.connections) do
    local line = ('%s: %s'):format(root_dir, conn.state)
    if conn.state == 'ready' then
      r.ok(line .. (conn.info and (' (you are ' .. conn.info.peer.name .. ')') or ''))
    elseif conn.state == 'failed' and conn.failed_why then
      r.error(line .. ': ' .. conn.failed_why, { 'fix that, then run :ChorusReconnect' })
    else
      r.warn(line)
    end
  end
  if not connected then
    r.info('no connection yet (one starts when you open a file inside a project)')
  end
end

return M
