# write_if_changed(FILE CONTENT): writes FILE only when its content differs, so that an unrelated
# re-run of a generator script does not make everything that includes FILE recompile.
function(write_if_changed file content)
  if(EXISTS "${file}")
    file(READ "${file}" old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE "${file}" "${content}")
endfunction()
