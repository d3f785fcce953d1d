-- Minimal init for the Neovim conformance tests: load the plugin from this tree and record
-- every message it shows in _G.chorus_messages.
vim.opt.rtp:prepend(vim.env.CHORUS_NVIM_PLUGIN)
vim.o.swapfile = false
vim.o.shada = ''
_G.chorus_messages = {}
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(_G.chorus_messages, { msg = msg, level = level })
  if level and level >= vim.log.levels.ERROR then
    return notify(msg, level, opts)
  end
end
vim.cmd('runtime plugin/chorus.lua')
-- A test may override options (CHORUS_NVIM_SETUP, JSON).
local extra = vim.env.CHORUS_NVIM_SETUP and vim.env.CHORUS_NVIM_SETUP ~= '' and vim.json.decode(vim.env.CHORUS_NVIM_SETUP) or {}
require('chorus').setup(vim.tbl_extend('force', {
  cmd = vim.json.decode(vim.env.CHORUS_NVIM_CMD),
  reconnect_min_ms = 100,
  reconnect_max_ms = 1000,
}, extra))
