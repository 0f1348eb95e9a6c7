# Layers as include roots. Every include names its path from the repository root
# ("actors/protocol/messages.hpp"), so a target that could see the whole repository could include
# anything. Instead each library target gets a view: a directory in the build tree holding
# symbolic links to just the folders it may use, and that view as its only include root. An
# include that runs the wrong way (actors/ reaching into adapters/, say) then fails to compile
# with "No such file or directory". tests/layers/ proves it; DESIGN.md's layer table is the rule.

set(MERCATO_LAYER_VIEWS ${CMAKE_BINARY_DIR}/layers)

# mercato_layer_view(<view> <folder>...): the view directory <view> with a link per folder
# (a folder may be nested: actors/protocol). Sets MERCATO_VIEW_<view> to its path.
function(mercato_layer_view view)
  set(dir ${MERCATO_LAYER_VIEWS}/${view})
  file(REMOVE_RECURSE ${dir})
  foreach(folder IN LISTS ARGN)
    get_filename_component(parent ${dir}/${folder} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${folder} ${dir}/${folder} SYMBOLIC)
  endforeach()
  set(MERCATO_VIEW_${view} ${dir} PARENT_SCOPE)
endfunction()

# mercato_layer(<target> <folder>...): gives <target> a view of exactly these folders.
function(mercato_layer target)
  mercato_layer_view(${target} ${ARGN})
  target_include_directories(${target} PRIVATE ${MERCATO_LAYER_VIEWS}/${target})
endfunction()
