-- Neovim's built-in LSP client (0.7, no plugin) with `chorus lsp` as a server for every file,
-- the lspconfig-style way 0.7 needs (0.8+ has vim.lsp.start). Messages the server shows are
-- kept in _G.lsp_messages.
vim.o.swapfile = false
vim.o.shada = ''
vim.o.hidden = true
_G.lsp_messages = {}
vim.lsp.handlers['window/showMessage'] = function(_, result)
  table.insert(_G.lsp_messages, result)
end
local cmd = vim.json.decode(vim.env.CHORUS_LSP_CMD)
local client_id
vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
  callback = function(args)
    if not client_id then
      client_id = vim.lsp.start_client({
        name = 'chorus',
        cmd = cmd,
        root_dir = vim.env.CHORUS_LSP_ROOT,
        flags = { debounce_text_changes = tonumber(vim.env.CHORUS_LSP_DEBOUNCE or '150') },
      })
    end
    vim.lsp.buf_attach_client(args.buf, client_id)
  end,
})
-- The text the LSP client holds for a buffer (what it sends the server).
function _G.lsp_text(buf)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  -- Neovim 0.7's client joins lines with the buffer's 'fileformat' line break.
  local nl = vim.api.nvim_buf_get_option(buf, 'fileformat') == 'dos' and '\r\n' or '\n'
  local text = table.concat(lines, nl)
  if vim.api.nvim_buf_get_option(buf, 'eol') then
    text = text .. nl
  end
  return text
end
